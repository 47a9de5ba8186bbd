#!/usr/bin/env python3
"""gen_events: protocol lines of generated events for the region's 27 projects.

  python3 tests/browser/gen_events.py [SEED] > events.wm
  build/werkmonitor raw < events.wm          # after data/gooi-en-vechtstreek.wm

Deterministic for a seed: the monitor page's browser test and the README's screenshots
use it. Dates run from 2020 to the end of 2023 inside each project's own period, a
completion or placement follows its start by one to nine months, municipalities are
weighted by population, and some residents follow two trajectories (a language course,
then another project), so persons and trajectories differ as they do in the region.
Some projects run ahead of their targets and some behind, so every light occurs.
Person values are pseudonyms (`gen-` and hex), never digits only.
"""
import datetime
import random
import sys

# Population weights (thousands of inhabitants, roughly).
GEMEENTEN = [("hilversum", 90), ("gooise-meren", 58), ("huizen", 41), ("wijdemeren", 24),
             ("weesp", 20), ("laren", 11), ("blaricum", 11), ("eemnes", 9)]

# project: (first start, last start, trajectories, share completed, share placed,
#           kind, completed result, placement sector)
PLANS = {
    "hout": ("2021-03-01", "2023-06-30", 25, 0.40, 0.30, "werkervaring", "afgerond", "bouw"),
    "gooise-waardetas": ("2021-06-01", "2023-06-30", 18, 0.30, 0.25, "werkervaring",
                         "afgerond", "handel"),
    "ai-in-de-media": ("2020-10-01", "2023-09-30", 45, 0.50, 0.45, "scholing", "certificaat",
                       "media"),
    "zorgstart": ("2020-02-01", "2023-11-30", 400, 0.75, 0.62, "scholing", "diploma", "zorg"),
    "wijkleerbedrijf": ("2020-09-01", "2022-05-31", 62, 0.82, 0.64, "scholing", "diploma",
                        "zorg"),
    "taaltrajecten": ("2020-01-15", "2021-12-15", 210, 0.08, 0.10, "taal", "certificaat",
                      "overig"),
    "ggz": ("2020-02-01", "2023-10-31", 44, 0.25, 0.20, "begeleiding", "afgerond", "overig"),
    "jongerenspecialist": ("2021-05-01", "2023-11-30", 175, 0.30, 0.52, "begeleiding",
                           "afgerond", "horeca"),
    "gooi-en-vechtstreek-werkt-door": ("2020-12-01", "2022-06-30", 30, 0.10, 0.35, "overig",
                                       "afgerond", "horeca"),
    "werkgelegenheidsprojecten": ("2020-06-01", "2023-10-31", 110, 0.75, 0.65, "scholing",
                                  "certificaat", "vervoer"),
    "mobiliteitsdienstverlening": ("2020-11-01", "2023-11-30", 90, 0.20, 0.50, "overig",
                                   "afgerond", "techniek"),
    "scholing-en-begeleiding": ("2020-03-01", "2023-11-30", 420, 0.50, 0.35, "scholing",
                                "diploma", "zorg"),
    "lokale-initiatieven": ("2020-06-01", "2023-09-30", 60, 0.20, 0.30, "werkervaring",
                            "afgerond", "overig"),
}

LAST_DATE = datetime.date(2023, 12, 31)


def day(s):
    return datetime.date.fromisoformat(s)


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rnd = random.Random(seed)
    names = [g for g, _ in GEMEENTEN]
    weights = [w for _, w in GEMEENTEN]
    out = []
    n = 0
    # Residents who finished a language course: some start another project later.
    alumni = []

    def emit(line):
        nonlocal n
        n += 1
        out.append(line.replace("{id}", "gen%d-%d" % (seed, n)))

    for project, plan in PLANS.items():
        first, last, count, p_done, p_placed, kind, result, sector = plan
        a, b = day(first), day(last)
        span = (b - a).days
        for _ in range(count):
            start = a + datetime.timedelta(days=rnd.randint(0, span))
            if project != "taaltrajecten" and alumni and rnd.random() < 0.15:
                person, gemeente = alumni.pop(rnd.randrange(len(alumni)))
            else:
                # letters only: a run of nine digits in a value is taken for a BSN
                bits = rnd.getrandbits(48)
                person = "gen-" + "".join(chr(97 + (bits >> (4 * i) & 15)) for i in range(12))
                gemeente = rnd.choices(names, weights)[0]
            emit("EVENT started id={id} person=%s gemeente=%s date=%s project=%s kind=%s"
                 % (person, gemeente, start, project, kind))
            if project == "taaltrajecten":
                alumni.append((person, gemeente))
            later = start + datetime.timedelta(days=rnd.randint(30, 270))
            if later > LAST_DATE:
                continue
            if rnd.random() < p_done:
                emit("EVENT completed id={id} person=%s gemeente=%s date=%s project=%s result=%s"
                     % (person, gemeente, later, project, result))
            elif rnd.random() < 0.15:
                emit("EVENT completed id={id} person=%s gemeente=%s date=%s project=%s "
                     "result=uitgevallen" % (person, gemeente, later, project))
            if rnd.random() < p_placed:
                placed = later + datetime.timedelta(days=rnd.randint(0, 60))
                if placed > LAST_DATE:
                    continue
                months = rnd.choice([3, 6, 6, 12, 12, 24])
                contract = "leerwerk" if kind == "scholing" and rnd.random() < 0.4 else "betaald"
                emit("EVENT placed id={id} person=%s gemeente=%s date=%s project=%s sector=%s "
                     "contract=%s months=%d" % (person, gemeente, placed, project, sector,
                                                contract, months))
                if rnd.random() < 0.6:
                    emit("EVENT outflow id={id} person=%s gemeente=%s date=%s project=%s "
                         "benefit=pw reason=werk" % (person, gemeente, placed, project))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
