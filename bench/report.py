"""Time and memory of every report format on a large session.

    uv run python bench/report.py                  # the table (3 runs per format)
    uv run python bench/report.py --runs 5 --formats pdf docx
    uv run python bench/report.py --sample docs/report-page.png   # README picture

The large session (100 participants, 2,000 contributions, 150 clusters, 15,000 ratings) is
bulk-inserted into a temporary SQLite file; each format is exported `--runs` times through
`export_session`, the same call the API and the CLI make. Peak memory is tracemalloc's peak
of Python allocations during one export (WeasyPrint's and Pillow's C buffers are not in it).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.clustering.models import Cluster  # noqa: E402
from app.db import make_engine, migrate  # noqa: E402
from app.matrix.models import Rating  # noqa: E402
from app.models_base import utcnow  # noqa: E402
from app.sessions.models import (  # noqa: E402
    DEFAULT_CATEGORIES,
    DEFAULT_QUESTIONS,
    Challenge,
    Contribution,
    Participant,
    WorkshopSession,
)

FORMATS = ["html", "md", "csv", "json", "xlsx", "docx", "pdf"]
TARGETS = {"pdf": 5.0, "docx": 2.0, "xlsx": 2.0, "html": 0.5, "md": 0.5, "csv": 0.5, "json": 0.5}
LEVELS = ["local_regional", "national", "eu"]
WORDS = [
    "funding",
    "access",
    "training",
    "data",
    "skills",
    "network",
    "hub",
    "testbed",
    "licensing",
    "remuneration",
    "transparency",
    "procurement",
    "mentoring",
    "vouchers",
    "compute",
    "standards",
    "ethics",
    "copyright",
    "regional",
    "creative",
    "SMEs",
    "researchers",
    "artists",
    "developers",
    "museums",
    "platforms",
    "labels",
]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def populate_large(
    engine: Engine,
    *,
    participants: int = 100,
    contributions: int = 2000,
    clusters: int = 150,
    ratings: int = 15000,
    challenges: int = 3,
    seed: int = 7,
) -> str:
    """Bulk-insert one big session; returns its code."""
    rng = random.Random(seed)
    now = utcnow()
    code = "BENCH" + str(seed)
    with engine.begin() as db:
        session_id = db.execute(
            insert(WorkshopSession).values(
                code=code,
                title="Benchmark: AI in the cultural and creative industries",
                phase="report",
                facilitator_token_hash=_hash("facilitator"),
                categories=list(DEFAULT_CATEGORIES),
                show_contributions=True,
                show_names=False,
                place="Brussels",
                organiser="Policy Lab benchmark",
                lab_date="",
                last_event_seq=0,
                timer_duration=0,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        challenge_ids = [
            db.execute(
                insert(Challenge).values(
                    session_id=session_id,
                    position=i,
                    title=f"Challenge {i + 1}: {' '.join(rng.sample(WORDS, 3))}",
                    description="A brief of a few sentences. " * 4,
                    questions=list(DEFAULT_QUESTIONS),
                )
            ).inserted_primary_key[0]
            for i in range(challenges)
        ]
        db.execute(
            insert(Participant),
            [
                {
                    "session_id": session_id,
                    "name": f"Person {i}",
                    "token_hash": _hash(f"{code}-p{i}"),
                    "created_at": now,
                }
                for i in range(participants)
            ],
        )
        participant_ids = [
            row[0]
            for row in db.exec_driver_sql(
                "SELECT id FROM participants WHERE session_id = ? ORDER BY id", (session_id,)
            )
        ]
        cluster_rows = []
        for i in range(clusters):
            cluster_rows.append(
                {
                    "session_id": session_id,
                    "challenge_id": challenge_ids[i % challenges],
                    "title": " ".join(rng.sample(WORDS, 4)).capitalize() + f" ({i + 1})",
                    "description": "What this solution proposes, in a sentence or two.",
                    "category": DEFAULT_CATEGORIES[i % 3],
                    "position": i // challenges,
                    "origin": "suggested" if i % 2 else "manual",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        db.execute(insert(Cluster), cluster_rows)
        cluster_ids = [
            row[0]
            for row in db.exec_driver_sql(
                "SELECT id, challenge_id FROM clusters WHERE session_id = ? ORDER BY id",
                (session_id,),
            )
        ]
        cluster_challenge = {
            cid: challenge_ids[i % challenges] for i, cid in enumerate(cluster_ids)
        }
        by_challenge: dict[int, list[int]] = {}
        for cid, chid in cluster_challenge.items():
            by_challenge.setdefault(chid, []).append(cid)
        rows = []
        for i in range(contributions):
            challenge_id = challenge_ids[i % challenges]
            clustered = rng.random() < 0.93
            rows.append(
                {
                    "session_id": session_id,
                    "challenge_id": challenge_id,
                    "participant_id": participant_ids[i % participants],
                    "text": " ".join(rng.choices(WORDS, k=rng.randint(6, 16))).capitalize(),
                    "cluster_id": rng.choice(by_challenge[challenge_id]) if clustered else None,
                    "position": i,
                    "created_at": now + timedelta(seconds=i),
                    "updated_at": now,
                }
            )
        db.execute(insert(Contribution), rows)
        pairs = [(c, p) for c in cluster_ids for p in participant_ids]
        rng.shuffle(pairs)
        rating_rows = []
        for cluster_id, participant_id in pairs[:ratings]:
            centre = 1 + (cluster_id * 37 % 40) / 10
            rating_rows.append(
                {
                    "session_id": session_id,
                    "cluster_id": cluster_id,
                    "participant_id": participant_id,
                    "relevance": max(1, min(5, round(rng.gauss(centre, 0.9)))),
                    "policy_level": LEVELS[min(2, int(abs(rng.gauss(cluster_id % 3, 0.8))))],
                    "created_at": now,
                    "updated_at": now,
                }
            )
        db.execute(insert(Rating), rating_rows)
    return code


# A realistic small lab for the README picture: the built-in AI & CCI template, clustered.
SAMPLE_CLUSTERS = {
    0: [
        ("Shared AI testbeds for creative SMEs", "Ecosystem structure", (1, 5, 8), 4.6, "eu"),
        ("Open cultural data spaces for AI training", "Key framework conditions", (6,), 3.9, "eu"),
        (
            "Simpler funding calls and vouchers for micro-enterprises",
            "Key framework conditions",
            (2, 3, 7),
            4.2,
            "national",
        ),
        (
            "AI advisers in regional creative hubs",
            "AI and sector players",
            (4, 9),
            3.4,
            "local_regional",
        ),
        (
            "Matchmaking between AI start-ups and cultural institutions",
            "Ecosystem structure",
            (5,),
            3.0,
            "local_regional",
        ),
        ("Affordable compute for creative studios", "AI and sector players", (0,), 3.1, "national"),
    ],
    1: [
        ("Generative AI in art-school curricula", "AI and sector players", (0,), 4.3, "national"),
        (
            "Funded, short hands-on AI workshops for freelancers",
            "AI and sector players",
            (1, 2),
            4.5,
            "local_regional",
        ),
        (
            "Micro-credentials for AI skills in the creative sector",
            "Key framework conditions",
            (5,),
            3.2,
            "eu",
        ),
        (
            "Mentoring pairs of artists and engineers",
            "Ecosystem structure",
            (3, 7),
            3.7,
            "local_regional",
        ),
        ("Training material in every EU language", "Key framework conditions", (6,), 3.0, "eu"),
        ("AI literacy for cultural managers", "AI and sector players", (4,), 2.6, "national"),
    ],
    2: [
        (
            "Remuneration for works used to train AI models",
            "Key framework conditions",
            (0, 4),
            4.7,
            "eu",
        ),
        (
            "A workable opt-out from text and data mining",
            "Key framework conditions",
            (1,),
            4.0,
            "eu",
        ),
        (
            "Precise transparency obligations on training data",
            "Key framework conditions",
            (2, 7),
            4.4,
            "eu",
        ),
        (
            "Creative-sector seats in AI standardisation bodies",
            "Ecosystem structure",
            (3,),
            3.3,
            "eu",
        ),
        (
            "Consistent labelling of AI-generated content",
            "AI and sector players",
            (5,),
            2.8,
            "national",
        ),
        (
            "Cultural diversity criteria in public AI procurement",
            "Key framework conditions",
            (6,),
            2.5,
            "national",
        ),
    ],
}
SAMPLE_NAMES = [
    "Amira",
    "Jonas",
    "Chiara",
    "Pieter",
    "Ana",
    "Mikko",
    "Zofia",
    "Luc",
    "Eva",
    "Tomás",
    "Ines",
    "Karl",
    "Sofia",
    "Ruben",
    "Maja",
    "Nils",
    "Lea",
    "Dario",
    "Hanna",
    "Olivier",
    "Greta",
    "Marek",
    "Sara",
    "Yusuf",
]


def populate_sample(db: Session) -> str:
    """The built-in AI & CCI lab with 24 participants, clustered and scored; returns the code."""
    from app.clustering.models import ClusterCreate
    from app.clustering.service import create_cluster
    from app.matrix.models import RatingIn
    from app.matrix.service import rate
    from app.sessions import service
    from app.sessions.auth import Actor
    from app.sessions.labs import AI_CCI
    from app.vocabulary import PolicyLevel

    rng = random.Random(3)
    data = AI_CCI.to_create()
    data.place, data.organiser, data.lab_date = (
        "Brussels",
        "European Creative Innovation Network",
        "14 May 2024",
    )
    created = service.create_session(db, data)
    session = created.session
    facilitator = Actor(session=session, role="facilitator")
    service.change_phase(db, session, "brainstorm")
    people = [service.join(db, session, name)[0] for name in SAMPLE_NAMES]
    ids: dict[int, list[int]] = {}
    for index, (challenge, lab) in enumerate(
        zip(created.challenges, AI_CCI.challenges, strict=True)
    ):
        for i, text in enumerate(lab.sample_contributions):
            actor = Actor(
                session=session, role="participant", participant=people[(i * 5 + index) % 24]
            )
            contribution, _ = service.add_contribution(db, actor, challenge.id, text)  # type: ignore[arg-type]
            ids.setdefault(index, []).append(contribution.id)  # type: ignore[arg-type]
    service.change_phase(db, session, "clustering")
    clusters = []
    for index, specs in SAMPLE_CLUSTERS.items():
        for n, (title, category, members, centre, level) in enumerate(specs):
            cluster = create_cluster(
                db,
                facilitator,
                ClusterCreate(
                    challenge_id=created.challenges[index].id,  # type: ignore[arg-type]
                    title=title,
                    category=category,
                    contribution_ids=[ids[index][m] for m in members if m < len(ids[index])],
                ),
                origin="suggested" if n % 2 == 0 else "manual",
            )
            clusters.append((cluster, centre, level, n == 3))
    service.change_phase(db, session, "scoring")
    levels = ["local_regional", "national", "eu"]
    for person in people[:22]:
        actor = Actor(session=session, role="participant", participant=person)
        for cluster, centre, level, contested in clusters:
            if contested:
                score = rng.choice([1, 2, 5, 5, 4, 1])
            else:
                score = max(1, min(5, round(rng.gauss(centre, 0.7))))
            chosen = level if rng.random() < 0.65 else rng.choice(levels)
            rate(db, actor, cluster.id, RatingIn(relevance=score, policy_level=PolicyLevel(chosen)))  # type: ignore[arg-type]
    service.change_phase(db, session, "report")
    db.flush()
    return session.code


def measure(
    engine: Engine, code: str, fmt: str, runs: int
) -> tuple[float, float, float, int, float]:
    """Median wall and CPU seconds, peak MiB (tracemalloc) and size of exporting `code`,
    and the wall seconds of the very first export (the PDF's helper process starts then)."""
    from app.report.service import export_session
    from app.sessions.auth import find_session

    walls, cpus = [], []
    size = 0
    with Session(engine) as db:
        start = time.perf_counter()
        export_session(db, find_session(db, code), fmt)
        first = time.perf_counter() - start
    for _ in range(runs):
        gc.collect()
        with Session(engine) as db:
            session = find_session(db, code)
            start, start_cpu = time.perf_counter(), time.process_time()
            size = len(export_session(db, session, fmt).content)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
    gc.collect()
    tracemalloc.start()
    with Session(engine) as db:
        export_session(db, find_session(db, code), fmt)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(walls), statistics.median(cpus), peak / 2**20, size, first


def _pdf_in_one_process(engine: Engine, code: str, runs: int) -> float:
    """Median wall seconds of the same PDF with both parts laid out here, one after the
    other: the baseline the helper process is measured against."""
    from app.report.model import build_report
    from app.report.render_pdf import render_pdf
    from app.sessions.auth import find_session

    walls = []
    for _ in range(runs):
        gc.collect()
        with Session(engine) as db:
            start = time.perf_counter()
            render_pdf(build_report(db, find_session(db, code)), parallel=False)
            walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def _helper_peak_mib() -> float | None:
    """Peak resident memory of the PDF helper process, if one ran (Linux)."""
    from app.report import render_pdf

    helper = render_pdf._helper
    pool = helper.pool if helper is not None else None
    for pid in getattr(pool, "_processes", None) or {}:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def write_sample(target: Path) -> None:
    """Render the sample lab's PDF and save one page of it as a PNG."""
    from app.report.service import export_session
    from app.sessions.auth import find_session

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/sample.db")
        migrate(engine)
        with Session(engine) as db:
            code = populate_sample(db)
            db.commit()
            pdf = export_session(db, find_session(db, code), "pdf").content
        engine.dispose()
        pdf_path = Path(tmp) / "sample.pdf"
        pdf_path.write_bytes(pdf)
        page = 5
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(pdf_path),
                str(target.with_suffix("")),
            ],
            check=True,
        )
        print(f"Wrote {target} (page {page} of the sample report).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="*", default=FORMATS, choices=FORMATS)
    parser.add_argument("--sample", type=Path, help="write a PNG of a sample report page here")
    args = parser.parse_args()
    if args.sample:
        write_sample(args.sample)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        start = time.perf_counter()
        code = populate_large(engine)
        print(
            f"Session {code}: 100 participants, 2,000 contributions, 150 clusters, "
            f"15,000 ratings (created in {time.perf_counter() - start:.1f} s)\n"
        )
        print(
            f"{'format':<7} {'wall s':>7} {'CPU s':>7} {'target s':>9} {'peak MiB':>9} "
            f"{'size KiB':>9} {'first s':>8}"
        )
        failed = False
        for fmt in args.formats:
            wall, cpu, peak, size, first = measure(engine, code, fmt, args.runs)
            mark = "" if wall < TARGETS[fmt] else "  over target"
            failed = failed or bool(mark)
            print(
                f"{fmt:<7} {wall:>7.2f} {cpu:>7.2f} {TARGETS[fmt]:>9.1f} {peak:>9.1f} "
                f"{size / 1024:>9.0f} {first:>8.2f}{mark}"
            )
        if "pdf" in args.formats:
            single = _pdf_in_one_process(engine, code, args.runs)
            pdf_wall = measure(engine, code, "pdf", args.runs)[0]
            print(
                f"\nPDF laid out in this process alone (no helper): {single:.2f} s; "
                f"with the helper {pdf_wall:.2f} s ({pdf_wall / single:.0%} of it)"
            )
        helper = _helper_peak_mib()
        if helper is not None:
            print(f"\nPDF helper process: peak resident memory {helper:.0f} MiB")
        load = os.getloadavg()[0]
        print(
            f"\n(median of {args.runs} runs after a first one; load average {load:.1f} on "
            f"{os.cpu_count()} cores. CPU s is this process's: the PDF's appendix is laid out "
            "in a helper process at the same time. `first s` is the first export in this "
            "process, which for the PDF includes starting the helper.)"
        )
        engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
