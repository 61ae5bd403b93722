"""Synthetic archives for benchmarks: ``lod synth --talks N --out DIR``.

The output is a data folder in the record format, deterministic for a given seed,
shaped like a real archive: persons and organisations shared across talks, seminar
series and multi-day workshops with sessions, ~150-word abstracts with Unicode and
TeX, several time zones (daylight saving included), hybrid and online talks, a few
cancelled or TBA talks. It passes validation.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

ZONES = [("Sydney", "Australia/Sydney", "AU"), ("Paris", "Europe/Paris", "France"),
         ("Austin", "America/Chicago", "United States"), ("New York", "America/New_York", "United States"),
         ("Tokyo", "Asia/Tokyo", "Japan"), ("London", "Europe/London", "United Kingdom"),
         ("São Paulo", "America/Sao_Paulo", "Brazil"), ("Zürich", "Europe/Zurich", "Switzerland")]
GIVEN = ["Ana", "Bruno", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Gustav", "Hiroshi", "Inès", "José", "Kateřina",
         "Lars", "Mónica", "Nikolai", "Olúwáṣeun", "Priya", "Quentin", "Rania", "Søren", "Thảo", "Ulrike", "Văn",
         "Wiktoria", "Xiaoming", "Yusuf", "Zoë"]
FAMILY = ["Álvarez", "Berger", "Chen", "Dubois", "Eriksson", "Fischer", "García", "Hoang", "Ivanova", "Jäger",
          "Kowalski", "Lefèvre", "Müller", "Nakamura", "Okafor", "Peña", "Quispe", "Rossi", "Schäfer", "Tanaka",
          "Ueda", "Vasquez", "Wójcik", "Xu", "Yılmaz", "Zhang"]
FIELDS = ["Mathematics", "Computer Science", "Statistics", "Physics", "Data Science"]
WORDS = ("we study the structure of neural networks through the lens of geometry and probability showing that "
         "training dynamics converge to equilibria whose stability depends on width depth and the spectrum of the "
         "data covariance our results connect optimisation with representation theory and give sharp bounds for "
         "generalisation in overparametrised regimes including transformers kernels and diffusion models").split()
TEX = [r"$\mathcal{O}(n \log n)$", r"$P(\mathcal{L})$", r"$(\min, +)$", r"$\|W\|_{2} \le \sqrt{d}$",
       r"$\mathbb{E}[X^2]$", r"$\nabla_\theta \mathcal{L}(\theta)$"]
UNICODE = ["café", "naïve", "Gödel", "Erdős", "“scaling laws”", "— in short —", "Poincaré", "Schrödinger"]


def _abstract(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(140)]
    for _ in range(3):
        words.insert(rng.randrange(len(words)), rng.choice(TEX))
    for _ in range(4):
        words.insert(rng.randrange(len(words)), rng.choice(UNICODE))
    text = " ".join(words)
    cut = len(text) // 2
    cut = text.index(" ", cut)
    return text[:1].upper() + text[1:cut] + ".\n\n" + text[cut + 1:cut + 2].upper() + text[cut + 2:] + "."


def synth_records(talks: int, seed: int = 1) -> dict[str, dict[str, Any]]:
    """The records of a synthetic archive of *talks* talks, as {relative file name: YAML document}."""
    rng = random.Random(seed)
    src = "synthetic"
    n_unis = max(2, talks // 100)
    orgs: list[dict[str, Any]] = []
    depts: list[str] = []
    for u in range(n_unis):
        uid = f"uni-{u}"
        orgs.append({"id": uid, "name": f"University {u} of {ZONES[u % len(ZONES)][0]}", "sources": [src]})
        for f in FIELDS[: 2 + u % 3]:
            did = f"{uid}-{f.lower().replace(' ', '-')}"
            orgs.append({"id": did, "name": f"Department of {f}", "parent": uid, "sources": [src]})
            depts.append(did)
    n_people = max(4, talks // 3)
    people = []
    for p in range(n_people):
        person: dict[str, Any] = {"id": f"person-{p}", "given_name": GIVEN[p % len(GIVEN)],
                                  "family_name": f"{FAMILY[(p // len(GIVEN)) % len(FAMILY)]} {p}",
                                  "affiliations": sorted({rng.choice(depts) for _ in range(rng.choice((1, 1, 2)))}),
                                  "sources": [src]}
        if p % 5 == 0:
            person["job_title"] = rng.choice(["Professor", "Assistant Professor", "Postdoctoral Fellow"])
        people.append(person)
    places: list[dict[str, Any]] = []
    for z, (city, zone, country) in enumerate(ZONES):
        places.append({"id": f"building-{z}", "name": f"{city} Hall", "timezone": zone,
                       "address": {"locality": city, "country": country}, "sources": [src]})
        for r in range(5):
            places.append({"id": f"room-{z}-{r}", "name": f"Room {r + 1}", "contained_in": f"building-{z}",
                           "timezone": zone, "address": {"street": f"{r + 1} Campus Road", "locality": city,
                                                         "country": country}, "sources": [src]})
        places.append({"id": f"online-{z}", "name": "Zoom", "virtual": True,
                       "url": f"https://zoom.example.org/j/{z}", "sources": [src]})
    files: dict[str, dict[str, Any]] = {
        "sources.yaml": {"sources": [{"id": src, "document": "synthetic archive", "taken": "2025-01-01"}]},
        **_split("organizations", orgs),
        **_split("people", people),
        "places.yaml": {"places": places},
    }
    made = 0
    k = 0
    start_day = date(2021, 1, 4)
    while made < talks:
        z = k % len(ZONES)
        zone = ZONES[z][1]
        if k % 4 == 3:  # a two- or three-day workshop with sessions
            days = 2 + k % 2
            first = start_day + timedelta(days=rng.randrange(1500))
            eid = f"workshop-{k}"
            sessions = []
            for d in range(days):
                day = first + timedelta(days=d)
                session_talks = []
                for slot in range(min(4, talks - made)):
                    hour = 9 + slot
                    session_talks.append(_talk(rng, f"{eid}-d{d}-t{slot}", day, hour, n_people, src,
                                               cancelled=made % 97 == 0, tba=made % 89 == 0))
                    made += 1
                sessions.append({"id": f"{eid}-d{d}", "title": f"Day {d + 1} morning",
                                 "start": f"{day.isoformat()}T09:00", "end": f"{day.isoformat()}T13:00",
                                 "venue": f"room-{z}-0", "sources": [src], "talks": session_talks})
                if made >= talks:
                    break
            files[f"events/{eid}.yaml"] = {"events": [{
                "id": eid, "kind": "workshop", "name": f"Workshop {k} on {rng.choice(FIELDS)}",
                "start": first.isoformat(), "end": (first + timedelta(days=days - 1)).isoformat(),
                "venue": f"room-{z}-0", "timezone": zone, "attendance": "in-person", "capacity": 40 + k % 60,
                "free": True, "organizers": [rng.choice(depts)], "language": "en", "sources": [src],
                "sessions": sessions}]}
        else:  # a weekly seminar series
            sid = f"series-{k}"
            n = min(rng.randrange(20, 40), talks - made)
            first = start_day + timedelta(days=rng.randrange(1200))
            mode = ("hybrid", "online", "in-person")[k % 3]
            series_talks = []
            for i in range(n):
                day = first + timedelta(weeks=i)
                series_talks.append(_talk(rng, f"{sid}-{i}", day, 10 + i % 7, n_people, src,
                                          cancelled=made % 97 == 0, tba=made % 89 == 0))
                made += 1
            series: dict[str, Any] = {"id": sid, "name": f"Seminar {k} in {rng.choice(FIELDS)}",
                                      "organizers": [rng.choice(depts)], "contacts": [f"person-{rng.randrange(n_people)}"],
                                      "timezone": zone, "attendance": mode, "language": "en",
                                      "sources": [src], "talks": series_talks}
            if mode != "online":
                series["venue"] = f"room-{z}-{1 + k % 4}"
            if mode != "in-person":
                series["online"] = f"online-{z}"
            files[f"series/{sid}.yaml"] = {"series": [series]}
        k += 1
    return files


# Records of one kind written to one file at most: the loader refuses a file over 20 MiB
# (``lod.loading.files.MAX_FILE_BYTES``), which 333k people (1M talks) passed (50 MB).
PER_FILE = 50_000


def _split(key: str, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """*records* as ``KEY.yaml``, then ``KEY-2.yaml`` … of ``PER_FILE`` each (one file up to 150k talks)."""
    chunks = [records[i:i + PER_FILE] for i in range(0, len(records), PER_FILE)] or [[]]
    return {(f"{key}.yaml" if n == 0 else f"{key}-{n + 1}.yaml"): {key: chunk} for n, chunk in enumerate(chunks)}


def _talk(rng: random.Random, tid: str, day: date, hour: int, n_people: int, src: str,
          cancelled: bool, tba: bool) -> dict[str, Any]:
    talk: dict[str, Any] = {"id": tid}
    if tba:
        talk["title_status"] = "tba"
    else:
        talk["title"] = f"On {rng.choice(WORDS)} {rng.choice(WORDS)} and {rng.choice(TEX)}"
        talk["abstract"] = _abstract(rng)
    talk["speakers"] = sorted({f"person-{rng.randrange(n_people)}" for _ in range(rng.choice((1, 1, 1, 2)))})
    talk["start"] = f"{day.isoformat()}T{hour:02d}:00"
    talk["duration"] = rng.choice(["PT45M", "PT1H", "PT1H"])
    if cancelled:
        talk["status"] = "cancelled"
    if rng.random() < 0.2:
        talk["recording"] = {"url": f"https://video.example.org/{tid}"}
    if rng.random() < 0.3:
        talk["keywords"] = [rng.choice(FIELDS)]
    talk["sources"] = [src]
    return talk


def write_synth(talks: int, out: str | os.PathLike[str], seed: int = 1) -> int:
    """Write a synthetic data folder to *out*; return the number of files written."""
    root = Path(out)
    files = synth_records(talks, seed)
    for rel, doc in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                         sort_keys=False, width=120)
        path.write_text(text, encoding="utf-8")
    return len(files)
