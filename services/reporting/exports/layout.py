"""The summary laid out as sections of tables, the same for every file format. Each cell is
a :class:`~services.reporting.exports.formatting.Figure`, so every format shows a rate, an
NPS, a duration or an amount the same way."""
from dataclasses import dataclass

from services.reporting.exports import formatting as fmt
from services.reporting.labels import Labels

# Which tables get a chart, and of which kind.
CHARTS = {"customers_by_type": "pie", "tickets_by_state": "bar",
          "tickets_by_service_type": "bar"}


@dataclass(frozen=True)
class Table:
    key: str              # heading key
    columns: tuple        # heading keys of the value columns
    rows: list            # [(item label, [Figure per column])]


@dataclass(frozen=True)
class Section:
    key: str
    tables: list


def counts_table(key: str, counts: dict, labels: Labels) -> Table:
    return Table(key, ("count",), [(labels.value(code), [fmt.count(n)])
                                   for code, n in counts.items()])


def ratings_table(key: str, groups: dict, labels: Labels) -> Table:
    return Table(key, ("count", "average", "csat", "nps"), [
        (labels.value(code), [fmt.count(figures["count"]), fmt.score(figures["average"]),
                              fmt.rate(figures["csat"]), fmt.nps(figures["nps"])])
        for code, figures in groups.items()])


def sla_table(sla: dict, labels: Labels) -> Table:
    return Table("sla_compliance", ("met", "breached", "compliance"), [
        (labels.value(clock), [fmt.count(figures["met"]), fmt.count(figures["breached"]),
                               fmt.rate(figures["compliance"])])
        for clock, figures in sla.items()])


def sections(report: dict, labels: Labels) -> list[Section]:
    customers, followups, tickets = report["customers"], report["followups"], report["tickets"]
    satisfaction, backlog = report["satisfaction"], report["backlog"]
    overview = [
        ("from", fmt.plain(report["range"]["from"])), ("to", fmt.plain(report["range"]["to"])),
        ("total", fmt.count(customers["total"])), ("new", fmt.count(customers["new"])),
        ("converted", fmt.count(customers["converted"])),
        ("conversion_rate", fmt.rate(customers["conversion_rate"])),
        ("followups_total", fmt.count(followups["total"])),
        ("success_rate", fmt.rate(followups["success_rate"])),
        ("created", fmt.count(tickets["created"])),
        ("late_entries", fmt.count(tickets["late_entries"])),
        ("open", fmt.count(backlog["open"])),
        ("ratings", fmt.count(satisfaction["count"])),
        ("average", fmt.score(satisfaction["average"])),
        ("csat", fmt.rate(satisfaction["csat"])), ("nps", fmt.nps(satisfaction["nps"])),
    ]
    return [
        Section("overview", [Table("figures", ("value",),
                                   [(labels.heading(key), [value]) for key, value in overview])]),
        Section("customers", [counts_table(f"customers_{name}", customers[name], labels)
                              for name in ("by_type", "by_grade", "by_industry", "by_source")]),
        Section("followups", [counts_table("followups_by_outcome", followups["by_outcome"],
                                           labels)]),
        Section("tickets", [counts_table(f"tickets_{name}", tickets[name], labels)
                            for name in ("by_state", "by_status_label", "by_service_type",
                                         "by_category", "by_priority", "by_channel",
                                         "by_department")]),
        Section("satisfaction", [
            ratings_table("satisfaction_by_service_type", satisfaction["by_service_type"], labels),
            ratings_table("satisfaction_by_customer_type", satisfaction["by_customer_type"],
                          labels)]),
        Section("sla", [sla_table(report["sla"], labels)]),
        Section("times", [Table("time_quantiles", ("median", "p90"), [
            (labels.heading(name), [fmt.duration(figures["median"]), fmt.duration(figures["p90"])])
            for name, figures in report["times"].items()])]),
        Section("backlog", [counts_table("backlog_ageing", backlog["ageing"], labels)]),
    ]
