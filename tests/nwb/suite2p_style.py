#!/usr/bin/python3
"""Writes an NWB file the way suite2p's NWB export does (h5py only, no apical code): one
ImagingPlane and a TwoPhotonSeries (external file, `dimension` [Ly, Lx]) per plane, an
ImageSegmentation with a PlaneSegmentation per plane holding pixel_mask ROIs and suite2p's
iscell column ([N, 2]), and Fluorescence with 'Fluorescence' and 'Neuropil' RoiResponseSeries.
The ROIs and traces are the accepted ROIs of an apical session's rois.h5 / traces.h5.
usage: suite2p_style.py SESSION OUT.nwb [broken]   broken: no-rois | count-mismatch | voxel-mask"""
import sys, uuid
import h5py, numpy as np

session, path = sys.argv[1], sys.argv[2]
broken = sys.argv[3] if len(sys.argv) > 3 else ''
rois, traces = h5py.File(f'{session}/apical/rois.h5', 'r'), h5py.File(f'{session}/apical/traces.h5', 'r')
text = h5py.string_dtype()

def typed(obj, kind, ns='core'):
    obj.attrs['namespace'], obj.attrs['neurodata_type'], obj.attrs['object_id'] = ns, kind, str(uuid.uuid4())
    return obj

def column(group, name, data, kind='VectorData', **kw):
    d = group.create_dataset(name, data=data, **kw)
    typed(d, kind, 'hdmf-common').attrs['description'] = name
    return d

def series(parent, name, data, table, rate):
    s = typed(parent.create_group(name), 'RoiResponseSeries')
    s.create_dataset('data', data=data).attrs['unit'] = 'lumens'
    region = column(s, 'rois', np.arange(data.shape[1] - (1 if broken == 'count-mismatch' else 0)), 'DynamicTableRegion')
    region.attrs['table'] = table.ref
    t = s.create_dataset('starting_time', data=0.0)
    t.attrs['rate'], t.attrs['unit'] = rate, 'seconds'

f = h5py.File(path, 'w')
typed(f, 'NWBFile').attrs['nwb_version'] = '2.6.0'
for name, value in (('identifier', 'suite2p'), ('session_description', 'suite2p output'),
                    ('session_start_time', '2026-01-01T00:00:00+00:00'), ('timestamps_reference_time', '2026-01-01T00:00:00+00:00')):
    f.create_dataset(name, data=value, dtype=text)
f.create_dataset('file_create_date', data=['2026-01-01T00:00:00+00:00'], dtype=text)
for g in ('acquisition', 'analysis', 'stimulus/presentation', 'stimulus/templates', 'general/devices', 'general/optophysiology'):
    f.require_group(g)
typed(f.create_group('general/devices/Microscope'), 'Device')
ophys = typed(f.create_group('processing/ophys'), 'ProcessingModule')
ophys.attrs['description'] = 'suite2p'
segmentation = typed(ophys.create_group('ImageSegmentation'), 'ImageSegmentation')
fluorescence = typed(ophys.create_group('Fluorescence'), 'Fluorescence')
for k in range(len([g for g in rois if g.startswith('plane')])):
    p, g = f'plane{k}', rois[f'plane{k}']
    height, width = int(g.attrs['height']), int(g.attrs['width'])
    plane = typed(f.create_group(f'general/optophysiology/ImagingPlane{k}'), 'ImagingPlane')
    plane['device'] = h5py.SoftLink('/general/devices/Microscope')
    rate = float(traces[p].attrs['frame_rate_hz'])
    tps = typed(f.create_group(f'acquisition/TwoPhotonSeries{k}'), 'TwoPhotonSeries')
    tps.create_dataset('dimension', data=[height, width])  # suite2p writes [Ly, Lx]
    tps.create_dataset('external_file', data=['data.bin'], dtype=text)
    tps.create_dataset('data', shape=(0, 0, 0), dtype='uint8').attrs['unit'] = 'n.a.'
    tps['imaging_plane'] = h5py.SoftLink(plane.name)
    n = int(np.sum(g['accepted'][:]))
    ps = typed(segmentation.create_group(f'PlaneSegmentation{k}'), 'PlaneSegmentation')
    ps['imaging_plane'] = h5py.SoftLink(plane.name)
    offsets, pixels, weights = g['roi_offsets'][:n + 1], g['roi_pixels'][:], g['roi_weights'][:]
    if broken == 'no-rois':
        n, offsets = 0, offsets[:1]
    mask = np.zeros(offsets[-1], dtype=[('x', '<u4'), ('y', '<u4'), ('weight', '<f4')])
    mask['x'], mask['y'], mask['weight'] = pixels[:offsets[-1]] % width, pixels[:offsets[-1]] // width, weights[:offsets[-1]]
    column(ps, 'voxel_mask' if broken == 'voxel-mask' else 'pixel_mask', mask)
    column(ps, 'voxel_mask_index' if broken == 'voxel-mask' else 'pixel_mask_index', offsets[1:], 'VectorIndex')
    column(ps, 'iscell', np.stack([np.ones(n), np.full(n, 0.9)], axis=1))
    column(ps, 'id', np.arange(n), 'ElementIdentifiers')
    ps.attrs['colnames'] = ['pixel_mask', 'iscell']
    ps.attrs['description'] = 'suite2p ROIs'
    series(fluorescence, f'Fluorescence{k}' if k else 'Fluorescence', traces[p]['F'][:n].T, ps, rate)
    series(fluorescence, f'Neuropil{k}', traces[p]['Fneu'][:n].T, ps, rate)
f.close()
