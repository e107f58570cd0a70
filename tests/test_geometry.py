"""Display geometry: coverage simplification keeps shared borders, output is light and in 4326."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from needmap.errors import InputError
from needmap.outputs.maps.geometry import display_geometry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def oldham() -> gpd.GeoDataFrame:
    gdf = gpd.read_parquet(ROOT / "boundaries" / "lsoa21_bgc_oldham.parquet").to_crs(27700)
    return gdf.set_index("lsoa21cd", drop=False)


def _holes(geom) -> int:
    parts = getattr(geom, "geoms", [geom])
    return sum(len(p.interiors) for p in parts)


def test_output_is_4326_with_same_rows_and_input_untouched(oldham):
    before = oldham.geometry.copy()
    out = display_geometry(oldham)
    assert out.crs.to_epsg() == 4326
    assert list(out.index) == list(oldham.index)
    assert list(out.columns) == list(oldham.columns)
    assert oldham.crs.to_epsg() == 27700
    assert oldham.geometry.geom_equals(before).all()


def test_coverage_stays_valid_and_opens_no_gaps(oldham):
    out = display_geometry(oldham, tolerance_m=50)
    assert shapely.coverage_is_valid(out.geometry.values)
    # The union of all LSOAs of a borough has as many holes as before (none appear as slivers)...
    assert _holes(out.geometry.union_all()) == _holes(oldham.to_crs(4326).geometry.union_all())
    # ...whereas simplifying each polygon on its own does open slivers between neighbours.
    alone = oldham.geometry.simplify(50).to_crs(4326)
    assert _holes(alone.union_all()) > _holes(out.geometry.union_all())


def test_more_tolerance_fewer_vertices_and_area_kept(oldham):
    counts = [
        display_geometry(oldham, tolerance_m=t).geometry.count_coordinates().sum()
        for t in (0, 15, 50, 200)
    ]
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] < counts[0]
    area0 = oldham.area.sum()
    area15 = display_geometry(oldham, tolerance_m=15).to_crs(27700).area.sum()
    assert abs(area15 - area0) / area0 < 0.005


def test_coordinates_rounded_to_precision(oldham):
    out = display_geometry(oldham, precision=4)
    xy = shapely.get_coordinates(out.geometry.values)
    assert np.allclose(xy * 1e4, np.round(xy * 1e4), atol=1e-6)
    assert not np.allclose(xy * 1e3, np.round(xy * 1e3), atol=1e-6)


def test_other_crs_is_reprojected_with_a_warning(oldham):
    with pytest.warns(UserWarning, match="expected EPSG:27700"):
        out = display_geometry(oldham.to_crs(4326), tolerance_m=15)
    ref = display_geometry(oldham, tolerance_m=15)
    assert abs(out.to_crs(27700).area.sum() - ref.to_crs(27700).area.sum()) < 1e3


def test_bad_inputs_raise_input_error(oldham):
    with pytest.raises(InputError, match="set_crs"):
        display_geometry(oldham.set_crs(None, allow_override=True))
    points = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=27700)
    with pytest.raises(InputError, match="Point"):
        display_geometry(points)
    with pytest.raises(InputError, match="tolerance_m"):
        display_geometry(oldham, tolerance_m=-1)
    with pytest.raises(InputError, match="GeoDataFrame"):
        display_geometry(oldham.drop(columns="geometry"))
