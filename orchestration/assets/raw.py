"""Landing files and the raw tables the CSV loader fills: one asset per raw table.

Sources are declared in ``orchestration/ingest/specs/*.yml``; specs that fill the same
raw table (``orders`` and ``online_retail_ii``) share one asset.
"""


from collections import defaultdict

import dagster as dg
from psycopg import sql

from orchestration import errors
from orchestration.ingest.spec import SourceSpec, load_specs
from orchestration.resources import WarehouseResource

SPECS: dict[str, SourceSpec] = load_specs()


def _specs_by_target() -> dict[str, list[SourceSpec]]:
    grouped: dict[str, list[SourceSpec]] = defaultdict(list)
    for spec in SPECS.values():
        grouped[spec.target].append(spec)
    return dict(sorted(grouped.items()))


def _landing_spec(target: str, specs: list[SourceSpec]) -> dg.AssetSpec:
    globs = [g for spec in specs for g in spec.files]
    return dg.AssetSpec(
        key=dg.AssetKey(["landing", target]),
        group_name="landing",
        description=f"CSV files in the landing folder matching {', '.join(globs)}.",
        kinds={"csv"},
        owners=["team:data-platform"],
        metadata={"globs": dg.MetadataValue.json(globs), "specs": ", ".join(s.spec_file for s in specs)},
    )


def _raw_asset(target: str, specs: list[SourceSpec]) -> dg.AssetsDefinition:
    names = [spec.name for spec in specs]
    description = (
        f"raw.{target}: rows of the landing files validated and bulk-loaded with COPY by the "
        f"spec(s) {', '.join(s.spec_file for s in specs)}. Invalid rows go to "
        f"raw.{target}_rejected with their line and reason; every file is recorded in "
        "raw.load_registry."
    )

    @dg.asset(
        key=dg.AssetKey(["raw", target]),
        deps=[dg.AssetKey(["landing", target])],
        group_name="raw",
        description=description,
        kinds={"python", "postgres"},
        owners=["team:data-platform"],
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from orchestration.ingest.loader import load_landing

        results = load_landing(
            warehouse.get_dsn(), warehouse.get_landing_dir(), sources=names, progress=False
        )
        for r in results:
            if r.status in ("refused", "failed"):
                context.log.warning(r.line())
            else:
                context.log.info(r.line())
        with errors.connect(warehouse.get_dsn()) as conn:
            exists = conn.execute("select to_regclass(%s)", (f"raw.{target}",)).fetchone()[0]
            total_rows = conn.execute(
                sql.SQL("select count(*) from raw.{}").format(sql.Identifier(target))
            ).fetchone()[0] if exists else 0
        table = "\n".join(
            ["| file | status | read | loaded | rejected |", "|---|---|---:|---:|---:|"]
            + [f"| {r.path} | {r.status} | {r.rows_read:,} | {r.rows_loaded:,} | {r.rows_rejected:,} |" for r in results]
        )
        return dg.MaterializeResult(
            metadata={
                "files": dg.MetadataValue.md(table if results else "no files matched"),
                "files_seen": len(results),
                "files_refused": sum(r.status in ("refused", "failed") for r in results),
                "rows_loaded": sum(r.rows_loaded for r in results if r.status == "loaded"),
                "rows_rejected": sum(r.rows_rejected for r in results if r.status == "loaded"),
                "dagster/table_name": f"raw.{target}",
                "dagster/row_count": total_rows,
            }
        )

    return _load


landing_specs = [_landing_spec(t, s) for t, s in _specs_by_target().items()]
raw_assets = [_raw_asset(t, s) for t, s in _specs_by_target().items()]
landing_globs = [g for spec in SPECS.values() for g in spec.files]
# raw/<table> -> the landing globs its specs load (the landing sensor loads only what changed)
globs_by_raw_asset = {
    dg.AssetKey(["raw", target]): [g for spec in specs for g in spec.files]
    for target, specs in _specs_by_target().items()
}
