#!/usr/bin/python3
"""Validate an NWB file against the NWB core schema, with Debian 12's hdmf (python3-hdmf) alone.

usage: nwb_validate.py FILE.nwb [--schema DIR]     (DIR default: ../nwb-schema/core beside this script)
Prints one line per schema violation and exits 1 when there is any; exits 0 and prints 'valid' otherwise.

pynwb is not packaged in Debian 12; hdmf is. NWB's schema files use the keys neurodata_type_def/_inc
where hdmf-common uses data_type_def/_inc, so the spec classes below name NWB's keys, and the core
namespace (2.6.0 in ../nwb-schema) is loaded on top of the hdmf-common schema that hdmf ships.
Checked: the core namespace loads and registers NWBFile, TwoPhotonSeries, PlaneSegmentation and
RoiResponseSeries.

Proven both ways (apical's tests/test_cli_nwb.cpp): apical's exported NWB passes, and files with a
required part removed fail. hdmf 3.5.1's validator alone misses two kinds of required parts, so they
are checked here as well (check_links_and_attributes): required links (TwoPhotonSeries.imaging_plane,
ImagingPlane.device, PlaneSegmentation.imaging_plane), required attributes of untyped datasets
(TimeSeries data's unit, starting_time's rate and unit), and required named parts of a given type
(a RoiResponseSeries' rois, a CorrectedImageStack's corrected).
"""
import argparse, os, sys
from hdmf.spec import GroupSpec, DatasetSpec, SpecNamespace, NamespaceCatalog
from hdmf.common import get_type_map
from hdmf.build import TypeMap, BuildManager
from hdmf.backends.hdf5 import HDF5IO
from hdmf.validate import ValidatorMap


class NWBNamespace(SpecNamespace):
    @classmethod
    def types_key(cls):
        return 'neurodata_types'


class _NWBKeys:
    @classmethod
    def type_key(cls):
        return 'neurodata_type'

    @classmethod
    def inc_key(cls):
        return 'neurodata_type_inc'

    @classmethod
    def def_key(cls):
        return 'neurodata_type_def'

    @classmethod
    def build_const_args(cls, spec_dict):
        d = dict(spec_dict)
        for nwb_key, hdmf_key in (('neurodata_type_def', 'data_type_def'), ('neurodata_type_inc', 'data_type_inc')):
            if nwb_key in d:
                d[hdmf_key] = d.pop(nwb_key)
        return super().build_const_args(d)


class NWBDatasetSpec(_NWBKeys, DatasetSpec):
    pass


class NWBGroupSpec(_NWBKeys, GroupSpec):
    @classmethod
    def dataset_spec_cls(cls):
        return NWBDatasetSpec


def required(spec):
    return spec.quantity in (1, '+') if hasattr(spec, 'quantity') else spec.required


def attribute_errors(path, spec, builder):
    """Required attributes (without a default) of an untyped dataset that are absent."""
    return [f"{path}: missing required attribute '{a.name}'" for a in spec.attributes
            if a.required and a.default_value is None and a.value is None and a.name not in builder.attributes]


def check_links_and_attributes(builder, catalog, path='root'):
    """hdmf 3.5.1 misses required links and required attributes of untyped datasets: check them."""
    errors = []
    data_type = builder.attributes.get('neurodata_type')
    namespace = builder.attributes.get('namespace')
    spec = None
    if data_type is not None and namespace in catalog.namespaces:
        try:
            spec = catalog.get_spec(namespace, data_type)
        except Exception:  # an unknown type is the main validator's finding
            spec = None
    if spec is not None and hasattr(spec, 'links'):
        for link in spec.links:
            if link.name and required(link) and link.name not in builder.links:
                errors.append(f"{path}: missing required link '{link.name}' ({data_type})")
        for dataset in spec.datasets:
            if dataset.name and dataset.data_type_inc is None and dataset.data_type_def is None \
                    and dataset.name in builder.datasets:
                errors += attribute_errors(f"{path}/{dataset.name}", dataset, builder.datasets[dataset.name])
        # Named parts of a given type (e.g. a RoiResponseSeries' rois): hdmf looks these up by
        # type and does not report them missing.
        present = set(builder.datasets) | set(builder.groups) | set(builder.links)
        for part in list(spec.datasets) + list(spec.groups):
            if part.name and part.data_type_inc is not None and required(part) and part.name not in present:
                errors.append(f"{path}: missing required '{part.name}' ({part.data_type_inc}) of {data_type}")
    for name, group in getattr(builder, 'groups', {}).items():
        errors += check_links_and_attributes(group, catalog, f"{path}/{name}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('file')
    ap.add_argument('--schema', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'nwb-schema', 'core'))
    a = ap.parse_args()
    type_map = TypeMap(NamespaceCatalog(NWBGroupSpec, NWBDatasetSpec, NWBNamespace))
    type_map.merge(get_type_map(), ns_catalog=True)
    type_map.load_namespaces(os.path.join(a.schema, 'nwb.namespace.yaml'))
    core = type_map.namespace_catalog.get_namespace('core')
    with HDF5IO(a.file, manager=BuildManager(type_map), mode='r') as io:
        builder = io.read_builder()
        errors = list(ValidatorMap(core).validate(builder))
        errors += check_links_and_attributes(builder, type_map.namespace_catalog)
    for e in errors:
        print(e)
    print('valid' if not errors else f'{len(errors)} error(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
