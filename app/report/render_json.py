"""The report as JSON: everything, with ids — and the archive format `import` reads back.

The file is versioned by `schema_version`. The tables `session`, `challenges`,
`participants`, `clusters`, `contributions` and `ratings` are what an import restores; the
computed parts (ranks, scores, summary, methodology) are there for readers and are
recomputed on import. Participant names are present only when the session shows names.
"""

import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from app.report.model import Report, methodology

SCHEMA_VERSION = 1
KIND = "policylab-session"


def _generator() -> str:
    try:
        return f"Policy Lab {version('policylab')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "Policy Lab"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_document(report: Report) -> dict[str, Any]:
    """The JSON document as Python data."""
    p = report.participation
    prov = report.provenance
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "generator": _generator(),
        "exported_at": _time(report.generated_at),
        "session": {
            "code": report.code,
            "title": report.title,
            "phase": report.phase,
            "lab_date": report.lab_date,
            "place": report.place,
            "organiser": report.organiser,
            "categories": report.categories,
            "show_names": report.show_names,
            "show_contributions": report.show_contributions,
            "created_at": _time(report.created_at),
        },
        "participation": {
            "participants": p.participants,
            "contributors": p.contributors,
            "raters": p.raters,
            "contributions": p.contributions,
            "duplicates": p.duplicates,
            "clustered": p.clustered,
            "unclustered": p.unclustered,
            "clusters": p.clusters,
            "rated_clusters": p.rated_clusters,
            "ratings": p.ratings,
        },
        "methodology": {
            "text": methodology(report),
            "clusters_manual": prov.manual,
            "clusters_suggested": prov.suggested,
            "clusters_suggested_edited": prov.suggested_edited,
        },
        "summary": [
            {"challenge_id": c.id, "cluster_ids": [r.id for r in c.top]} for c in report.challenges
        ],
        "challenges": [
            {
                "id": c.id,
                "number": c.number,
                "position": c.position,
                "title": c.title,
                "description": c.description,
                "questions": c.questions,
                "categories": [
                    {"name": s.name, "cluster_ids": [r.id for r in s.recommendations]}
                    for s in c.categories
                ],
                "unclustered_contribution_ids": [
                    item.id for item in c.contributions if item.cluster_id is None
                ],
            }
            for c in report.challenges
        ],
        "participants": [
            {
                "id": person.id,
                "number": person.number,
                "name": person.name,
                "joined_at": _time(person.joined_at),
            }
            for person in report.participants
        ],
        "clusters": [
            {
                "id": r.id,
                "challenge_id": r.challenge_id,
                "rank": r.rank,
                "title": r.title,
                "description": r.description,
                "category": r.category,
                "position": r.position,
                "origin": r.origin,
                "edited": r.edited,
                "suggested_title": r.suggested_title,
                "suggested_contribution_ids": r.suggested_contribution_ids,
                "accepted_at": _time(r.accepted_at),
                "contribution_ids": r.contribution_ids,
                "ratings": r.ratings,
                "relevance_mean": _score(r.relevance_mean),
                "relevance_median": _score(r.relevance_median),
                "relevance_sd": _score(r.relevance_sd),
                "agreement": _score(r.agreement),
                "relevance_band": r.band,
                "relevance_counts": {str(k): v for k, v in r.relevance_counts.items()},
                "policy_levels": r.policy_levels,
                "policy_level": r.policy_level,
                "contested": r.contested,
                "minority_view": r.minority_view,
                "level_note": r.level_note,
            }
            for r in report.recommendations
        ],
        "contributions": [
            {
                "id": item.id,
                "number": item.number,
                "challenge_id": item.challenge_id,
                "cluster_id": item.cluster_id,
                "participant_id": item.participant_id,
                "author": item.author,
                "text": item.text,
                "position": item.position,
                "duplicate_of_id": item.duplicate_of_id,
                "created_at": _time(item.created_at),
            }
            for item in sorted(report.contributions, key=lambda i: i.number)
        ],
        "ratings": [
            {
                "cluster_id": rating.cluster_id,
                "participant_id": rating.participant_id,
                "relevance": rating.relevance,
                "policy_level": rating.policy_level,
            }
            for rating in report.ratings
        ],
    }


def _dumps(value: Any, **options: Any) -> str:
    return json.dumps(value, ensure_ascii=False, **options)


def render_json(report: Report) -> bytes:
    """The JSON file: small sections indented, long tables one record per line (readable, and
    fast: records go through the C encoder, which `indent` would switch off)."""
    parts = []
    for key, value in report_document(report).items():
        if isinstance(value, list) and value:
            records = ",\n  ".join(_dumps(item, separators=(", ", ": ")) for item in value)
            parts.append(f" {_dumps(key)}: [\n  {records}\n ]")
        else:
            text = _dumps(value, indent=1).replace("\n", "\n ")
            parts.append(f" {_dumps(key)}: {text}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")
