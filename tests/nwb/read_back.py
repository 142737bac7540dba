#!/usr/bin/python3
"""Reads an NWB file written by `apical export` with h5py alone and checks it against the
session's own files (rois.h5, traces.h5, registered.h5, bci/). Prints 'equal' or the first
difference and exits 1. usage: read_back.py FILE.nwb SESSION"""
import csv, os, sys
import h5py, numpy as np

nwb_path, session = sys.argv[1], sys.argv[2]
out = os.path.join(session, 'apical')
nwb, rois, traces, reg = (h5py.File(p, 'r') for p in (nwb_path, f'{out}/rois.h5', f'{out}/traces.h5', f'{out}/registered.h5'))

def fail(message):
    print(message)
    sys.exit(1)

def check(ok, message):
    if not ok:
        fail(message)

ophys = nwb['processing/ophys']
for k in range(len([g for g in rois if g.startswith('plane')])):
    p = f'plane{k}'
    ps = ophys[f'ImageSegmentation/PlaneSegmentation_{p}']
    mask, ends = ps['pixel_mask'][:], ps['pixel_mask_index'][:]
    width = rois[p].attrs['width'] if 'width' in rois[p].attrs else rois[p]['roi_pixels'].attrs['width']
    check(np.array_equal(ends, rois[p]['roi_offsets'][1:]), f'{p}: mask offsets differ')
    check(np.array_equal(mask['y'].astype(np.int64) * width + mask['x'], rois[p]['roi_pixels'][:]), f'{p}: mask pixels differ')
    check(np.array_equal(mask['weight'], rois[p]['roi_weights'][:]), f'{p}: mask weights differ')
    kinds = [k.decode() if isinstance(k, bytes) else k for k in ps['kind'][:]]
    check(kinds == ['soma' if v == 0 else 'dendrite' for v in rois[p]['roi_kind'][:]], f'{p}: kinds differ')
    check(np.array_equal(ps['accepted'][:], rois[p]['accepted'][:]), f'{p}: accepted differs')
    for series, name in ((f'Fluorescence/F_{p}', 'F'), (f'Fluorescence/Neuropil_{p}', 'Fneu'), (f'DfOverF/DfOverF_{p}', 'dff')):
        data = ophys[series]['data'][:]
        check(np.array_equal(data.T, traces[p][name][:]), f'{series} differs from traces.h5 {p}/{name}')
        region = ophys[series]['rois']
        check(nwb[region.attrs['table']].name == ps.name, f'{series}: rois refers to {nwb[region.attrs["table"]].name}')
        check(np.array_equal(region[:], np.arange(data.shape[1])), f'{series}: rois are not the first rows')
    movie = nwb[f'acquisition/TwoPhotonSeries_{p}/data']
    check(movie.shape == reg[p]['movie'].shape and np.array_equal(movie[:5], reg[p]['movie'][:5]), f'{p}: movie differs')
    shifts = ophys[f'MotionShifts_{p}/data'][:]
    check(np.array_equal(shifts, reg[p]['shifts'][:]), f'{p}: shifts differ')

pairs = ophys['SomaDendritePairs']
for column in ('soma_plane', 'soma_roi', 'dendrite_plane', 'dendrite_roi', 'confidence'):
    check(np.array_equal(pairs[column][:], rois['pairs'][column][:]), f'pairs: {column} differs')
check(len(pairs['soma_roi']) > 0, 'no pairs exported')

with open(os.path.join(session, 'bci', 'trials.csv')) as f:
    rows = list(csv.DictReader(f))
with open(os.path.join(session, 'bci', 'frames.csv')) as f:
    time = {int(r['frame']): float(r['time_s']) for r in csv.DictReader(f)}
trials = nwb['intervals/trials']
check(len(trials['start_time']) == len(rows) > 0, 'trial count differs')
for i, r in enumerate(rows):
    check(abs(trials['start_time'][i] - time[int(r['start_frame'])]) < 1e-9, f'trial {i}: start differs')
    check(abs(trials['stop_time'][i] - time[int(r['end_frame'])]) < 1e-9, f'trial {i}: stop differs')
    outcome = trials['outcome'][i]
    check((outcome.decode() if isinstance(outcome, bytes) else outcome) == r['outcome'], f'trial {i}: outcome differs')
    reward = trials['reward_time'][i]
    check(np.isnan(reward) if r['outcome'] == 'miss' else abs(reward - time[int(r['reward_frame'])]) < 1e-9,
          f'trial {i}: reward time differs')
neurons = nwb['processing/regression/neurons']
regress = h5py.File(f'{out}/regress.h5', 'r')
check(np.array_equal(neurons['soma_roi'][:], regress['neurons/soma_roi'][:]), 'regression: soma_roi differs')
print('equal')
