#!/usr/bin/env python3
"""Held-out protocol for soma detection: fit on one part, score on another, report both.

Usage: scripts/heldout_rois.py [--apical build/apical] [--work DIR] [--real DIR]
                               [--frames 3000] [--seeds 1,2] [--skip-sim] [--skip-real]

Real rows (the development rows of neurofinder_top, 256x512, 160 manual labels):
  the soma template is fitted on one half of the rows (scripts/train_soma_model.py --rows),
  apical segment runs with that model (--soma-model), and apical evaluate --manual scores the
  OTHER half (--rows) and, for comparison, the half it was fitted on. Both directions:
  top (rows 0:128) -> bottom (128:256) and bottom -> top. Reported: accepted ROIs, labels,
  centroid F1 and IoU-F1 on each part, and accepted / labels on the unseen part.
  The built-in model (fitted on all rows) is scored on each half too, as the in-sample figure.
Simulated anatomies the template was never fitted to: apical's default, --preset dense-cortex
  and --preset irregular-somata (star-shaped somata with off-centre nuclei), 256x256, FRAMES
  frames, each seed: simulate, register, segment, evaluate; soma, dendrite and pairing figures.

Prints one line per figure ("part metric value") and a summary table; everything it runs is
echoed on stderr so each figure can be reproduced by hand. Needs python3-h5py/numpy/scipy.
"""
import argparse, csv, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run(cmd, **kw):
    print('+ ' + ' '.join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def scores(csv_path):
    with open(csv_path) as f:
        return {(r['subject'], r['metric']): float(r['value']) for r in csv.DictReader(f)}


def manual_part(apical, rois, labels, rows, out):
    run([apical, 'evaluate', '--manual', labels, rois, '--rows', rows, '--overlay', 'none', '-o', out,
         '--quiet', '--force'])
    s = scores(out)
    return {'found': s[('plane0', 'found')], 'labelled': s[('plane0', 'labelled')],
            'centroid_f1': s[('plane0/centroid', 'f1')], 'iou_f1': s[('plane0/iou', 'f1')],
            'iou_aligned_f1': s[('plane0/iou_aligned', 'f1')]}


def real_rows(a, work):
    movie = os.path.join(a.real, 'movie.h5')
    labels = os.path.join(a.real, 'regions.json')
    if not os.path.exists(movie):
        print('real rows skipped: %s not found' % movie, file=sys.stderr)
        return []
    reg = os.path.join(work, 'real_reg.h5')
    if not os.path.exists(reg):
        run([a.apical, 'register', movie, '--dataset', 'movie', '--axes', 'tyx', '-o', reg, '--quiet', '--force'])
    builtin = os.path.join(work, 'real_builtin.h5')
    run([a.apical, 'segment', reg, '-o', builtin, '--qc', 'none', '--quiet', '--force'])
    halves = {'top': '0:128', 'bottom': '128:256'}
    out = []
    for name, rows in halves.items():
        r = manual_part(a.apical, builtin, labels, rows, os.path.join(work, 'builtin_%s.csv' % name))
        out.append(('built-in model (all rows), scored on %s %s' % (name, rows), r))
    for fit, score in (('top', 'bottom'), ('bottom', 'top')):
        model = os.path.join(work, 'model_%s.json' % fit)
        # The summary images do not depend on the model: fit on those of the built-in run.
        with open(model, 'w') as f:
            f.write(run(['/usr/bin/python3', os.path.join(HERE, 'train_soma_model.py'), builtin, labels,
                         '--rows', halves[fit], '--json']))
        rois = os.path.join(work, 'real_fit_%s.h5' % fit)
        run([a.apical, 'segment', reg, '-o', rois, '--soma-model', model, '--qc', 'none', '--quiet', '--force'])
        for part in (score, fit):
            r = manual_part(a.apical, rois, labels, halves[part], os.path.join(work, 'fit_%s_on_%s.csv' % (fit, part)))
            kind = 'UNSEEN' if part == score else 'seen'
            out.append(('fitted on %s %s, scored on %s %s (%s)' % (fit, halves[fit], part, halves[part], kind), r))
    return out


def simulated(a, work):
    out = []
    for preset in ('default', 'dense-cortex', 'irregular-somata'):
        for seed in a.seeds.split(','):
            session = os.path.join(work, 'sim_%s_%s' % (preset, seed))
            run([a.apical, 'simulate', session, '--preset', preset, '--frames', str(a.frames), '--seed', seed,
                 '--quiet', '--force'])
            run([a.apical, 'register', session, '--quiet', '--force'])
            run([a.apical, 'segment', session, '--quiet', '--force', '--qc', 'none'])
            csv_path = session + '.scores.csv'
            run([a.apical, 'evaluate', session, '-o', csv_path, '--quiet', '--force'])
            s = scores(csv_path)
            out.append(('simulated %s seed %s (%d frames)' % (preset, seed, a.frames),
                        {'soma_f1': s[('plane0/soma', 'f1')], 'soma_found': s[('plane0/soma', 'n_found')],
                         'soma_true': s[('plane0/soma', 'n_true')], 'dendrite_f1': s[('plane1/dendrite', 'f1')],
                         'pairing_accuracy': s[('pairs', 'pairing_accuracy')],
                         'wrong_pairs': s[('pairs', 'wrong_pair_fraction')]}))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--apical', default=os.path.join(REPO, 'build', 'apical'))
    p.add_argument('--work', default='heldout_work')
    p.add_argument('--real', default=os.path.join(REPO, '..', 'shared', 'data', 'real', 'neurofinder_top'))
    p.add_argument('--frames', type=int, default=3000)
    p.add_argument('--seeds', default='1,2')
    p.add_argument('--skip-sim', action='store_true')
    p.add_argument('--skip-real', action='store_true')
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = ([] if a.skip_real else real_rows(a, a.work)) + ([] if a.skip_sim else simulated(a, a.work))
    for what, figures in rows:
        print('%-62s %s' % (what, '  '.join('%s %s' % (k, ('%.3f' % v) if abs(v - round(v)) > 1e-9 else int(v))
                                            for k, v in figures.items())))
        if 'labelled' in figures and 'UNSEEN' in what:
            print('%-62s accepted/labels %.2f' % ('', figures['found'] / max(1.0, figures['labelled'])))
    with open(os.path.join(a.work, 'heldout.json'), 'w') as f:
        json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
