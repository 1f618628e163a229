"""CLI commands: customers and transactions import, clv fit|refresh, link, identities."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engagebot.commands.ids import MAX_ID
from engagebot.runtime import console, engine_for, friendly_errors, load_settings
from engagement.customers.crm_csv import AmountRange
from engagement.settings import ClvSettings

customers_app = typer.Typer(help="The CRM's customers.", no_args_is_help=True)
transactions_app = typer.Typer(help="Customers' purchases (the input of CLV).", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value: fit BG/NBD + Gamma-Gamma, refresh.", no_args_is_help=True)
identities_app = typer.Typer(help="Links between authors and customers.", no_args_is_help=True)


def _data_lines(path: Path) -> int:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)


@contextmanager
def _progress(path: Path, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over the file's rows (off for --json and small files)."""
    total = _data_lines(path)
    with Progress(
        TextColumn(f"importing {path.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or total < 2000,
    ) as progress:
        task = progress.add_task("rows", total=total)
        yield lambda n: progress.advance(task, n)


def _print_report(report: Any, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        payload = {
            "path": report.path,
            "rows": report.rows,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "identities": report.identities,
            "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected],
            "warnings": list(report.warnings),
            **(extra or {}),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    colour = "red" if report.rejected else "green"
    console.print(f"[{colour}]{report.summary()}[/]", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    if report.rejected:
        table = Table("line", "why rejected", title=f"rejected rows ({len(report.rejected)})")
        for row in report.rejected[:50]:
            table.add_row(str(row.line), row.reason)
        console.print(table)
        if len(report.rejected) > 50:
            console.print(f"... and {len(report.rejected) - 50} more (use --json for all)")


@customers_app.command("import")
@friendly_errors
def import_customers_command(
    file: Path = typer.Argument(..., help="CRM export as it comes: Customer ID,Full Name,Email,Twitter,... "),
    column_map: list[str] = typer.Option(
        [],
        "--map",
        help="COLUMN=FIELD where a header is not recognised (fields: crm_id, name, email, segment, currency, "
        "clv, <platform>_handle, <platform>_user_id; - ignores the column). Repeatable.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts and every rejected row as JSON."),
) -> None:
    """Upsert customers and their platform accounts from a CRM CSV (format: docs/crm-format.md).

    Common English and German headers (Customer ID / Kundennummer, Full Name, E-Mail, Twitter,
    Lifetime Value / Kundenwert, ...) are recognised and the mapping used is printed. Bad rows
    are reported with their line number and reason; good rows are kept.

    Example: engagebot customers import crm.csv

    Example: engagebot customers import export.csv --map "Konto=crm_id" --map "Notizen=-"
    """
    from engagebot.commands.listen import _parse_map
    from engagement.customers.crm_columns import describe
    from engagement.customers.crm_import import import_customers

    settings = load_settings()
    engine = engine_for(settings)
    overrides = _parse_map(column_map)
    with _progress(file, quiet=as_json) as advance:
        report = import_customers(
            engine,
            file,
            progress=advance,
            max_clv=settings.engagement.clv.max_imported_clv,
            column_map=overrides,
        )
    if not as_json:
        console.print(f"columns: {describe(report.mapping)}", highlight=False, markup=False)
    _print_report(report, as_json, {"mapping": report.mapping})


@transactions_app.command("import")
@friendly_errors
def import_transactions_command(
    file: Path = typer.Argument(..., help="CSV with customer_id (the CRM id), date (ISO), amount."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Refit CLV and rCLV afterwards."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts and every rejected row as JSON."),
) -> None:
    """Add customers' transactions from a CSV, then refit CLV, P(alive) and rCLV.

    Example: engagebot transactions import transactions.csv
    """
    from engagement.customers.crm_import import import_transactions
    from engagement.customers.value import refresh_values

    settings = load_settings()
    engine = engine_for(settings)
    with _progress(file, quiet=as_json) as advance:
        report = import_transactions(engine, file, progress=advance, bounds=_bounds(settings.engagement.clv))
    values = refresh_values(engine, settings.engagement.clv) if refresh and report.inserted else None
    _print_report(report, as_json, {"values": values} if values else None)
    if values and not as_json:
        console.print(_values_line(values))


def _bounds(clv: ClvSettings) -> AmountRange:
    """The purchase amounts an import accepts (``engagement.clv.min/max_purchase_amount``)."""
    return AmountRange(clv.min_purchase_amount, clv.max_purchase_amount)


def _values_line(values: dict[str, int]) -> str:
    return (
        f"values refreshed: {values.get('customers', 0)} customers, "
        f"{values.get('fitted', 0)} fitted, "
        f"{values.get('imported', 0)} imported, {values.get('fallback', 0)} fallback, "
        f"{values.get('no_value', 0)} without CLV"
    )


def _number(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


@clv_app.command("fit")
@friendly_errors
def clv_fit_command(
    file: Path = typer.Argument(..., help="Transactions CSV: customer, date (ISO), amount."),
    calibration_end: str = typer.Option(..., "--calibration-end", help="Last day (ISO) the models see."),
    holdout_end: str | None = typer.Option(
        None, "--holdout-end", help="Last day of the holdout check (default: the file's last day)."
    ),
    customer_column: str = typer.Option("customer_id", "--customer-column", help="Column of the customer (CRM) id."),
    date_column: str = typer.Option("date", "--date-column", help="Column of the purchase date."),
    amount_column: str = typer.Option("amount", "--amount-column", help="Column of the amount."),
    write: bool = typer.Option(True, "--write/--no-write", help="Write CLV to customers found in the database."),
    as_json: bool = typer.Option(False, "--json", help="Print parameters, holdout check and counts as JSON."),
) -> None:
    """Fit BG/NBD + Gamma-Gamma on a transactions file; print the parameters and a holdout check.

    Purchases on one day count as one; the first purchase is not a repeat. Purchases after
    the calibration end are the holdout: predicted vs actual repeat purchases are reported.
    Customers of the file that exist in the database (by CRM id) get the fitted CLV.

    Example: engagebot clv fit transactions.csv --calibration-end 1997-09-30 --json
    """
    from engagement.customers.clv import holdout, summarize
    from engagement.customers.crm_import import read_purchases
    from engagement.customers.value import MODEL, apply_file_fit, estimate

    settings = load_settings()
    clv_settings = settings.engagement.clv
    cal_end = date.fromisoformat(calibration_end)
    purchases, rejected = read_purchases(
        file,
        customer_column=customer_column,
        date_column=date_column,
        amount_column=amount_column,
        bounds=_bounds(clv_settings),
    )
    if not purchases:
        raise ValueError(f"{file}: no valid transactions ({len(rejected)} rejected rows)")
    last_day = max(p[1] for p in purchases).date()
    hold_end = date.fromisoformat(holdout_end) if holdout_end else (last_day if last_day > cal_end else None)
    summary = summarize(purchases, cal_end, unit_days=clv_settings.time_unit_days, holdout_end=hold_end)
    if not len(summary):
        raise ValueError(f"{file}: no customer bought on or before {cal_end}")
    result = estimate(summary, clv_settings)
    fitted = result.method == MODEL
    output: dict[str, Any] = {
        key: _number(result.params.get(key)) if fitted else None for key in ("r", "alpha", "a", "b", "p", "q", "gamma")
    }
    output.update(
        method=result.method,
        reason=result.reason,
        customers=len(summary),
        repeat_customers=int((summary.frequency > 0).sum()),
        transactions=summary.transactions,
        rejected_rows=[{"line": r.line, "reason": r.reason} for r in rejected],
        calibration_end=cal_end.isoformat(),
        log_likelihood={k: _number(v, 2) for k, v in result.details.items()},
        total_clv=_number(float(result.clv.sum()), 2),
    )
    if fitted and hold_end is not None:
        from engagement.customers.clv.bgnbd import BgNbdParams

        bg = BgNbdParams(*(result.params[k] for k in ("r", "alpha", "a", "b")))
        report = holdout.check(bg, summary)
        output["holdout"] = {
            "end": hold_end.isoformat(),
            **{k: _number(v) for k, v in report.as_dict().items()},
        }
    if write:
        engine = engine_for(settings)
        counts = apply_file_fit(engine, clv_settings, summary, result, source=str(file))
        output["written"] = {k: v for k, v in counts.items() if k != "fit_id"}
        output["fit_id"] = counts["fit_id"]
    if as_json:
        typer.echo(json.dumps(output, indent=2))
        return
    _print_fit(output)


def _print_fit(output: dict[str, Any]) -> None:
    if output["method"] != "bgnbd+gammagamma":
        console.print(f"[yellow]fallback ({output['method']}):[/] {output['reason']}")
    else:
        table = Table("model", "parameters", "log-likelihood", title=f"fit on {output['customers']} customers")
        ll = output["log_likelihood"]
        table.add_row(
            "BG/NBD",
            "  ".join(f"{k}={output[k]:.4f}" for k in ("r", "alpha", "a", "b")),
            str(ll.get("bgnbd_log_likelihood")),
        )
        table.add_row(
            f"Gamma-Gamma ({output['repeat_customers']} repeat buyers)",
            "  ".join(f"{k}={output[k]:.4f}" for k in ("p", "q", "gamma")),
            str(ll.get("gamma_gamma_log_likelihood")),
        )
        console.print(table)
    if "holdout" in output:
        h = output["holdout"]
        console.print(
            f"holdout to {h['end']} ({h['length']:.1f} units): "
            f"predicted {h['predicted_total']:.1f} repeat purchases, "
            f"actual {h['actual_total']:.0f} ({h['total_error_pct']:+.1f}%); "
            f"per customer MAE {h['mean_absolute_error']:.3f}, "
            f"RMSE {h['rmse']:.3f}, correlation {h['correlation']:.3f}"
        )
    if output["rejected_rows"]:
        console.print(f"[red]{len(output['rejected_rows'])} rejected rows[/] (first: {output['rejected_rows'][0]})")
    if "written" in output:
        w = output["written"]
        console.print(
            f"written to {w.get('customers', 0)} customers in the database "
            f"({w.get('fitted', 0) + w.get('fallback', 0)} valued by this fit, "
            f"{w.get('imported', 0)} keep their CRM CLV)"
        )


@clv_app.command("refresh")
@friendly_errors
def clv_refresh_command(
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Refit CLV on all stored transactions and refresh every customer's CLV, P(alive) and rCLV.

    Example: engagebot clv refresh
    """
    from engagement.customers.value import refresh_values

    settings = load_settings()
    values = refresh_values(engine_for(settings), settings.engagement.clv)
    typer.echo(json.dumps(values, indent=2)) if as_json else console.print(_values_line(values))


@friendly_errors
def link_command(
    threshold: float = typer.Option(0.86, "--threshold", min=0.5, max=1.0, help="Similarity needed to suggest a link."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Link authors to customers: exact (CRM accounts), by email (reviews), suggestions to review.

    Example: engagebot link
    """
    from engagement.customers.identities import link_authors

    counts = link_authors(engine_for(load_settings()), threshold=threshold)
    if as_json:
        typer.echo(json.dumps(counts, indent=2))
        return
    console.print(
        f"{counts['exact']} exact links, {counts['email']} by email, "
        f"{counts['suggested']} new suggestions "
        "(review them: engagebot identities list --status suggested); "
        f"{counts['linked_authors']} authors linked"
    )


@identities_app.command("list")
@friendly_errors
def identities_list_command(
    status: str | None = typer.Option(None, "--status", help="confirmed | suggested | rejected"),
    limit: int = typer.Option(100, "--limit", min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List identity links (suggested ones wait for a person to confirm or reject them).

    Example: engagebot identities list --status suggested
    """
    from sqlmodel import col, select

    from db.engine import session_scope
    from db.models import Customer
    from engagement.customers.identities import list_identities

    with session_scope(engine_for(load_settings())) as session:
        rows = list_identities(session, status=status, limit=limit)
        ids = {r.customer_id for r in rows}
        found = session.exec(select(Customer).where(col(Customer.id).in_(ids))).all()
        names = {c.id: (c.crm_id, c.name) for c in found}
    data: list[dict[str, Any]] = [
        {
            "id": r.id,
            "customer_id": r.customer_id,
            "crm_id": names.get(r.customer_id, ("", None))[0],
            "customer": names.get(r.customer_id, ("", None))[1],
            "platform": r.platform,
            "handle": r.handle,
            "platform_user_id": r.platform_user_id,
            "author_id": r.author_id,
            "method": r.method,
            "status": r.status,
            "confidence": r.confidence,
            "evidence": r.evidence,
            "decided_by": r.confirmed_by,
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table("id", "customer", "platform", "account", "method", "status", "conf.", "evidence")
    for r in rows:
        crm_id, name = names.get(r.customer_id, ("", None))
        table.add_row(
            str(r.id),
            f"{crm_id} {name or ''}",
            r.platform,
            r.handle or r.platform_user_id or "",
            r.method,
            r.status,
            f"{r.confidence:.2f}",
            r.evidence or "",
        )
    console.print(table)


def _decide(identity_id: int, by: str, confirm: bool) -> None:
    """Confirm or reject a link as a real user: the same command as on a case page (policy,
    audit, and the author's open cases re-priced at once)."""
    from db.engine import session_scope
    from engagement.actors import resolve_actor
    from engagement.commands.links import decide_link

    settings = load_settings()
    engine = engine_for(settings)
    with session_scope(engine) as session:
        actor = resolve_actor(session, by)
    identity = decide_link(engine, actor, identity_id, "confirm" if confirm else "reject", settings=settings.engagement)
    console.print(f"identity {identity.id}: {identity.status} by {actor.name}")


@identities_app.command("confirm")
@friendly_errors
def identities_confirm_command(
    identity_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The link's id (see 'identities list')."),
    by: str = typer.Option(..., "--by", help="Who confirms it: a user's name or email (agents: suggestions only)."),
) -> None:
    """Confirm a suggested link: the author's posts now count as the customer's.

    Example: engagebot identities confirm 12 --by ana
    """
    _decide(identity_id, by, True)


@identities_app.command("reject")
@friendly_errors
def identities_reject_command(
    identity_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The link's id (see 'identities list')."),
    by: str = typer.Option(..., "--by", help="Who rejects it: a user's name or email (CRM links: leads only)."),
) -> None:
    """Reject a suggested link; it will not be suggested again.

    Example: engagebot identities reject 12 --by ana
    """
    _decide(identity_id, by, False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(customers_app, name="customers")
    app.add_typer(transactions_app, name="transactions")
    app.add_typer(clv_app, name="clv")
    app.add_typer(identities_app, name="identities")
    app.command("link")(link_command)
