#!/usr/bin/env python3
"""Fits the soma template of pipeline/segment/segment_anatomy.cpp to manual soma labels.

Usage: scripts/train_soma_model.py ROIS_H5 REGIONS_JSON > pipeline/segment/segment_soma_model.hpp
       scripts/train_soma_model.py ROIS_H5 REGIONS_JSON --rows A:B --json > model.json

--rows A:B fits on image rows [A, B) only (pixels and the labels whose centroid lies there) and
skips the folds; --json writes the weights for `apical segment --soma-model FILE` instead of
the C++ header (scripts/heldout_rois.py fits on one part of a field and scores on another).

ROIS_H5 is apical segment's output on the labelled recording (its plane0 mean and
correlation images are used, so the features are those apical computes); REGIONS_JSON holds
the manual labels in neurofinder JSON. The features below mirror segment_anatomy.cpp (same
filters, borders and rings). Positives are pixels within 1.5 px of a label's centroid,
negatives 8000 random pixels (fewer in proportion for a part of the image) more than 4 px
from every centroid; the model is an
L2-regularised logistic regression (Newton's method). On stderr: the F1 of held-out folds
(each half of the image, left/right and top/bottom, scored by a model fitted on the rest).
Needs Debian's python3-numpy, python3-scipy and python3-h5py.
"""
import sys, json
import numpy as np, h5py
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment
from scipy.ndimage import convolve1d
RING_EDGES=[0,1,2,3,4,5,6,7,8.5,10,12]; SQ_EDGES=[0,3,6,9]; CORR_EDGES=[0,3,5,8]
def gblur(img,s):
    r=max(1,int(np.ceil(3*s))); k=np.exp(-0.5*np.arange(-r,r+1)**2/(s*s)).astype(np.float32); k/=k.sum()
    # mirror (reflect-101) even when the kernel is longer than the image
    out=img.astype(np.float32)
    for ax in (1,0):
        n=out.shape[ax]; idx=np.arange(-r,n+r); per=2*(n-1); i=np.mod(idx,per); i=np.where(i<n,i,per-i)
        pad=np.take(out,i,axis=ax)
        out=convolve1d(pad,k,axis=ax,mode='constant')
        out=np.take(out,np.arange(r,r+n),axis=ax)
    return out.astype(np.float32)
def robust(img):
    m=np.median(img); return m, 1.4826*np.median(np.abs(img-m))
def ring_offsets(r0,r1):
    R=int(np.ceil(r1)); o=[]
    for dy in range(-R,R+1):
        for dx in range(-R,R+1):
            h=np.hypot(dy,dx)
            if r0<=h<r1: o.append((dy,dx))
    return o
def ring_mean(img,r0,r1):
    o=ring_offsets(r0,r1); H,W=img.shape
    per_y=2*(H-1); per_x=2*(W-1)
    def mir(i,n,per):
        i=np.mod(i,per); return np.where(i<n,i,per-i)
    acc=np.zeros_like(img,dtype=np.float64)
    ys=np.arange(H); xs=np.arange(W)
    for dy,dx in o:
        acc+=img[np.ix_(mir(ys+dy,H,per_y),mir(xs+dx,W,per_x))]
    return (acc/len(o)).astype(np.float32)
def features(mean,corr,d):
    s=d/9.0
    mean=mean.astype(np.float32)
    b=gblur(mean,2.2*d); dev=mean-b; v=gblur(dev*dev,2.2*d)
    N=dev/np.sqrt(np.maximum(v,1e-12))
    F=[ring_mean(N,a*s,c*s) for a,c in zip(RING_EDGES[:-1],RING_EDGES[1:])]
    F+=[ring_mean(N*N,a*s,c*s) for a,c in zip(SQ_EDGES[:-1],SQ_EDGES[1:])]
    m,sg=robust(corr); C=((corr-m)/max(sg,1e-12)).astype(np.float32)
    F+=[ring_mean(C,a*s,c*s) for a,c in zip(CORR_EDGES[:-1],CORR_EDGES[1:])]
    I=np.log(np.maximum(gblur(mean,3*d),1e-6)); I=I-np.median(I); F.append(I.astype(np.float32))

    return np.array(F)
args=sys.argv[1:]; as_json='--json' in args; args=[a for a in args if a!='--json']
fit_rows=None
if '--rows' in args:
    i=args.index('--rows'); a,b=args[i+1].split(':'); fit_rows=(int(a),int(b)); del args[i:i+2]
rois_h5, regions = args[0], args[1]
f=h5py.File(rois_h5,'r'); mean=f['plane0/mean_image'][:]; corr=f['plane0/correlation_image'][:]
H,W=mean.shape
R=json.load(open(regions)); tc=np.array([np.mean(r['coordinates'],0) for r in R])
# The model scale segment_anatomy.cpp assumes (kModelDiameterPx): the labels' median
# equivalent-disc diameter, 9.1 px on the neurofinder development rows.
d=9.0
print('labels: median equivalent diameter %.1f px'%(2*np.sqrt(np.median([len(r['coordinates']) for r in R])/np.pi)), file=sys.stderr)

F=features(mean,corr,d)
Fr=F.reshape(F.shape[0],-1).T.astype(np.float64)
cidx=np.zeros((H,W),bool)
for y,x in tc: cidx[int(round(y)),int(round(x))]=True
dist=ndi.distance_transform_edt(~cidx).ravel()
def fit(X,y,lam=1.0):
    mu=X.mean(0); sd=X.std(0)+1e-9; Xs=np.hstack([(X-mu)/sd,np.ones((len(X),1))]); w=np.zeros(Xs.shape[1])
    for _ in range(100):
        p=1/(1+np.exp(-Xs@w)); g=Xs.T@(p-y)+lam*np.r_[w[:-1],0]
        Hm=(Xs*(p*(1-p))[:,None]).T@Xs+lam*np.diag(np.r_[np.ones(len(w)-1),0]); st=np.linalg.solve(Hm,g); w-=st
        if np.abs(st).max()<1e-10: break
    return mu,sd,w
def train(sel,seed=1):
    rng=np.random.default_rng(seed)
    pos=np.where(sel&(dist<=1.5))[0]; negc=np.where(sel&(dist>4))[0]; neg=rng.choice(negc,min(int(8000*sel.mean()),len(negc)),replace=False)  # per area: the same bias for any region
    X=np.vstack([Fr[pos],Fr[neg]]); Y=np.r_[np.ones(len(pos)),np.zeros(len(neg))]
    return fit(X,Y)
def DISC(r):
    y,x=np.mgrid[-r:r+1,-r:r+1]; return np.hypot(y,x)<r+0.5
def score(model): mu,sd,w=model; return (((Fr-mu)/sd)@w[:-1]+w[-1]).reshape(H,W)
allpix=np.stack(np.mgrid[0:H,0:W],-1).reshape(-1,2)
if fit_rows is not None:
    # Only this part of the field: its pixels, and the labels centred in it (the distance to
    # every label still rules out negatives next to a cell just across the edge).
    sel=(allpix[:,0]>=fit_rows[0])&(allpix[:,0]<fit_rows[1])
    mu,sd,w=train(sel)
    json.dump({'fitted_on_rows':list(fit_rows),'feature_mean':[float('%.6g'%v) for v in mu],
               'feature_scale':[float('%.6g'%v) for v in sd],'weights':[float('%.6g'%v) for v in w[:-1]],
               'bias':float('%.6g'%w[-1])},sys.stdout); print(); sys.exit(0)
folds=[(1,0,W//2),(1,W//2,W),(0,0,H//2),(0,H//2,H)]
stats={}
for ax,lo,hi in folds:
    te=(allpix[:,ax]>=lo)&(allpix[:,ax]<hi); S=score(train(~te))
    T=tc[(tc[:,ax]>=lo)&(tc[:,ax]<hi)]
    for thr in [-1.25,-1.0,-0.75,-0.5,-0.25,0.0]:
        nms=int(round(0.78*d)); mx=ndi.maximum_filter(S,footprint=DISC(nms)); yy,xx=np.where((S==mx)&(S>=thr)); P=np.stack([yy,xx],1); P=P[(P[:,ax]>=lo)&(P[:,ax]<hi)]
        dd=np.linalg.norm(P[:,None,:]-T[None],axis=2); cost=np.where(dd<=5,dd,1e6); r,c=linear_sum_assignment(cost); m=(cost[r,c]<1e5).sum()
        a=stats.setdefault(thr,np.zeros(3)); a+=[m,len(P),len(T)]
for thr,(m,nf,nt) in stats.items(): print('CV thr %.2f F1 %.3f P %.2f R %.2f'%(thr,2*m/(nf+nt),m/nf,m/nt), file=sys.stderr)
mu,sd,w=train(np.ones(H*W,bool))
fmt=lambda a: ', '.join('%.6gf'%v for v in a)
print('#pragma once'); print('// Generated by scripts/train_soma_model.py from manual soma labels (model diameter %g px).'%d); print('namespace apical {')
print('inline constexpr float kSomaFeatureMean[] = {%s};'%fmt(mu))
print('inline constexpr float kSomaFeatureScale[] = {%s};'%fmt(sd))
print('inline constexpr float kSomaWeights[] = {%s};'%fmt(w[:-1]))
print('inline constexpr float kSomaBias = %.6gf;'%w[-1])
print('}  // namespace apical')
