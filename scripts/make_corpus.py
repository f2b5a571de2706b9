"""Write a synthetic knowledge base of N entries, for benchmarks and scale tests.

    python scripts/make_corpus.py --n 10000 --out build/corpus-10000 [--seed 1]

The folder it writes is a complete knowledge base (`kb -C DIR validate`, `kb -C DIR build`): entries/, a
vocabulary.yml with the project's real terms plus hundreds of invented mechanism and condition terms whose use
follows a long-tailed (Zipf-like) distribution, and copies of the project's mkdocs.yml, hand-written docs/ and
templates/. Every entry is marked as synthetic (headline prefix "[synthetic]", a synthetic journal, a 10.5555 test
DOI, a comment at the top of the file) so that nobody mistakes it for evidence; the numbers in it mean nothing.

The output depends only on N, the seed and the project's vocabulary.yml. The folder is built next to DIR and
moved into place at the end, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.render.output import is_generated  # noqa: E402
from kb.validate.corpus import EntryKey, duplicate_problems  # noqa: E402

SYNTHETIC = "[synthetic]"
DOI_PREFIX = "10.5555"  # Crossref's prefix for test DOIs: never a real work
HEADER = (
    "# yaml-language-server: $schema=../kb/schema/study.schema.json\n"
    "# SYNTHETIC entry written by scripts/make_corpus.py for benchmarks. Not evidence: every name, number and\n"
    "# sentence in it is invented.\n"
)
SITE_FILES = ("mkdocs.yml", "CONTRIBUTING.md", "docs", "templates")  # what `kb build` reads besides entries


def _words(text: str) -> list[str]:
    return text.split()


# Word stock for invented vocabulary terms: qualifier x core gives hundreds of plausible-looking terms.
MECHANISM_QUALIFIERS = _words("""
interoceptive affective cognitive social emotional somatic autobiographical executive
existential relational perceptual narrative metacognitive attentional motivational spiritual sensory temporal
moral aesthetic
embodied reflective prosocial cortical limbic""")
MECHANISM_CORES = _words("""
awareness regulation flexibility reappraisal attention acceptance avoidance processing integration
salience reactivity tolerance openness insight memory appraisal agency coherence trust attunement control curiosity
expectancy imagery synchrony learning coupling""")
CONDITION_QUALIFIERS = _words("""
chronic late-life adolescent perinatal postpartum veteran occupational post-stroke comorbid
subclinical refractory early-onset caregiver student first-responder post-covid rural recurrent""")
CONDITION_CORES = _words("""
anxiety depression insomnia pain fatigue grief burnout panic phobia obsessive-symptoms anorexia
binge-eating gambling cannabis-use opioid-use stimulant-use migraine cluster-headache tinnitus fibromyalgia loneliness
demoralisation moral-injury dissociation apathy irritability stress adjustment-disorder""")
SUBSTANCE_NAMES = [f"sc-{number}" for number in range(101, 125)]
SETTING_NAMES = _words("""community-mental-health university-counselling veterans-services primary-care""")

FAMILIES = _words("""adams ahmed alvarez andersen baker banerjee becker bergstrom bianchi brandt brown campbell carvalho
chen cohen costa dahl davies diaz dubois edwards eriksson evans fischer fontaine garcia gonzalez gupta hansen
harris hoffmann huang ibrahim ito jansen jensen johansson kaur keller khan kim kowalski kruger larsen laurent lee
lindqvist lopez marino martin mendes meyer moreau murphy nakamura nguyen nielsen novak okafor olsen park patel
pereira petrov quinn rahman reyes ricci rossi santos sato schmidt silva singh sorensen suzuki tanaka taylor
thompson torres vargas vogel wagner walsh wang weber williams wilson wright yamamoto yilmaz young zhang
zimmermann""")
GIVENS = _words("""Aiko Alex Amara Ana Anders Ben Carla Chen Dara Elif Emma Farah Felix Grace Hana Ines Ivan Jae Jonas
Kai Lara Leo Lina Mara Maya Mei Nadia Noah Omar Paula Priya Rafael Rosa Sami Sara Tomas Una Vera Yara Zoe""")
POPULATIONS = ["adults", "older adults", "young adults", "veterans", "women", "outpatients", "inpatients"]
POPULATIONS += ["university students", "healthcare workers", "adults with chronic illness", "people in recovery"]
POPULATIONS += ["first responders", "bereaved adults", "adults in primary care"]
JOURNALS = [
    "Journal of Synthetic Benchmark Data",
    "Synthetic Psychopharmacology Reports",
    "Benchmark Trials (Synthetic)",
]
TITLE_PATTERNS = [
    "{mech} as a mediator of {sub} effects on {cond} in {pop}: {design}",
    "Changes in {mech} after {sub}-assisted therapy for {cond}: the {acronym} study",
    "{sub} and {mech2} in {pop} with {cond}: {design} ({acronym})",
    "Does {mech} explain improvement in {cond}? {design} of {sub} in {pop}",
    "{acronym}: {sub} for {cond} among {pop}, with {mech} and {mech2} as outcomes",
    "Long-term {cond} outcomes and {mech} {weeks} weeks after {sub} in {pop} ({acronym})",
    "Predictors of response to {sub} in {cond}: {mech}, {mech2} and expectancy in the {acronym} cohort",
    "{Design} of {sub} versus {control} for {cond} in {pop}: {mech} findings from {acronym}",
]
DESIGN_PHRASES = {
    "randomized-controlled-trial": "a randomised controlled trial",
    "controlled-trial": "a controlled trial",
    "secondary-analysis": "a secondary analysis",
    "open-label-trial": "an open-label trial",
    "follow-up-study": "a long-term follow-up",
    "observational-study": "an observational study",
    "qualitative-study": "a qualitative study",
    "systematic-review": "a systematic review",
}
CONTROLS = ["placebo", "active placebo", "waitlist", "treatment as usual", "low dose", "niacin"]
SYLLABLES = _words("ka lo mi re su ta ve zo ri na pe do lu bi sa te xo fi gu ny")
METRICS = ["cohen_d", "hedges_g", "smd", "mean_difference", "odds_ratio", "risk_ratio", "hazard_ratio", "r"]
SMD_METRICS = ("cohen_d", "hedges_g", "smd")
MEASURES = ["Synthetic Symptom Scale (SSS)", "Invented Wellbeing Index (IWI)", "Benchmark Mood Inventory (BMI-S)"]
TIMEPOINTS = ["end of treatment", "4 weeks", "12 weeks", "6 months", "12 months"]

SENTENCES = {
    "background": [
        "{cond} affects many {pop}, and current treatments help only some of them.",
        "Earlier work suggested that {mech} may change during {sub} sessions, but the evidence was thin.",
        "People living with {cond} often describe {mech} as something they struggle with day to day.",
        "Interest in {sub} has grown after small trials reported quick and lasting changes in symptoms.",
        "Few studies have asked whether {mech} is part of how {sub} works or only a side effect of feeling better.",
        "Dropout from standard care is common in {cond}, which leaves room for new approaches.",
    ],
    "overview": [
        "The team enrolled {n} {pop} with {cond} and followed them for {weeks} weeks.",
        "Participants received {sessions} dosing session(s) of {sub}, with preparation and integration around them.",
        "{mech} was measured before treatment, after each session and at the final visit.",
        "The comparison condition was {control}, and assessors did not know who received which.",
        "Outcomes were rated on validated scales; analyses followed the registered plan where one existed.",
        "The analysis asked whether changes in {mech} came before changes in {cond} symptoms.",
    ],
    "discussion": [
        "The largest changes were seen in {mech}, which moved before symptom scores did.",
        "Changes in {mech2} were smaller and less consistent across participants.",
        "These results fit with the idea that {sub} opens a window in which {mech} can shift.",
        "Expectancy may explain part of the effect, since blinding is hard to keep with {sub}.",
        "Participants who reported stronger acute effects tended to improve more, but the link was modest.",
    ],
    "implications": [
        "Therapists could pay closer attention to {mech} during preparation and integration.",
        "Future trials should measure {mech} and {mech2} at more time points to test the order of change.",
        "If {mech} is a mechanism, non-drug practices that target it may add to the benefit.",
        "Services for {pop} may want to screen for {cond} and offer follow-up support after dosing.",
    ],
    "conclusions": [
        "{sub} was followed by improvement in {cond}, and {mech} changed along with it.",
        "The findings are a first step; larger and longer trials are needed before firm conclusions.",
        "{mech} looks like a promising target for research on {sub} in {pop}.",
    ],
    "limitation": [
        "The sample was small and mostly recruited from one site.",
        "Blinding was probably broken for many participants, which may inflate effects.",
        "{mech} was measured by self-report only.",
        "Follow-up ended at {weeks} weeks, so lasting effects are unknown.",
        "Participants were highly selected, which limits how far results generalise to {pop}.",
        "Several outcomes were tested, and corrections for multiple comparisons were not reported.",
    ],
    "application": [
        "Programmes for {pop} could add exercises that build {mech} before and after sessions.",
        "Staff could check in on {mech} during integration, using plain questions rather than scales.",
        "Where {sub} is not legal, practices that target {mech} may still be worth offering.",
    ],
    "rationale": [
        "Rated {certainty}: a single {design_short} with {n} participants and imprecise estimates.",
        "Rated {certainty}: risk of bias from broken blinding and a modest sample of {n}.",
    ],
}


def zipf_picker(items: list[str], rng: random.Random, exponent: float = 1.1):
    """A function that draws `k` distinct items, item r with weight 1/(r+1)^exponent (a long tail)."""
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(len(items))))

    def pick(k: int) -> list[str]:
        chosen: list[str] = []
        k = min(k, len(items))
        while len(chosen) < k:
            item = items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
            if item not in chosen:
                chosen.append(item)
        return chosen

    return pick


def project_vocabulary() -> dict:
    with open(ROOT / "vocabulary.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _title_case(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def synthetic_terms(qualifiers: list[str], cores: list[str], count: int, rng: random.Random, existing: dict) -> dict:
    """`count` invented terms `qualifier-core`, each with a description, a synonym and sometimes a broader term."""
    pairs = [(q, c) for q in qualifiers for c in cores if f"{q}-{c}" not in existing]
    rng.shuffle(pairs)
    terms = {}
    for qualifier, core in sorted(pairs[:count]):
        label = f"{_title_case(qualifier)} {core.replace('-', ' ')}"
        term = {
            "label": label,
            "description": f"{SYNTHETIC} An invented term for benchmarks: {core.replace('-', ' ')}, {qualifier} kind.",
            "synonyms": [f"{core.replace('-', ' ')}, {qualifier.replace('-', ' ')}"],
        }
        if core in existing:
            term["broader"] = core
        terms[f"{qualifier}-{core}"] = term
    return terms


def build_vocabulary(rng: random.Random, mechanisms: int, conditions: int) -> dict:
    """The project's vocabulary plus invented terms in every facet (hundreds of mechanisms and conditions)."""
    vocabulary = project_vocabulary()
    extra = {
        "mechanisms": synthetic_terms(MECHANISM_QUALIFIERS, MECHANISM_CORES, mechanisms, rng, {}),
        "conditions": synthetic_terms(
            CONDITION_QUALIFIERS, CONDITION_CORES, conditions, rng, vocabulary["conditions"]["terms"]
        ),
        "substances": {
            slug: {"label": slug.upper(), "description": f"{SYNTHETIC} An invented compound for benchmarks."}
            for slug in SUBSTANCE_NAMES
        },
        "settings": {
            slug: {"label": _title_case(slug), "description": f"{SYNTHETIC} An invented setting for benchmarks."}
            for slug in SETTING_NAMES
        },
    }
    for facet, terms in extra.items():
        vocabulary[facet]["terms"].update(terms)
    return vocabulary


class EntryWriter:
    """Draws entries one at a time from seeded random choices; holds the vocabulary's pickers."""

    def __init__(self, vocabulary: dict, rng: random.Random):
        self.rng = rng
        self.terms = {facet: vocabulary[facet]["terms"] for facet in vocabulary}
        self.pick = {facet: zipf_picker(self._ranked(facet), rng) for facet in self.terms}
        self.ids: set[str] = set()
        self.acronyms: set[str] = set()

    def _ranked(self, facet: str) -> list[str]:
        """The real terms first (the common head), then the invented ones in a seeded order (the long tail)."""
        slugs = list(self.terms[facet])
        real = [s for s in slugs if SYNTHETIC not in self.terms[facet][s].get("description", "")]
        invented = [s for s in slugs if s not in real]
        self.rng.shuffle(invented)
        return real + invented

    def label(self, facet: str, slug: str) -> str:
        return self.terms[facet][slug]["label"]

    def acronym(self) -> str:
        while True:
            name = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(3, 4))).upper()
            if name not in self.acronyms:
                self.acronyms.add(name)
                return name

    def entry(self, index: int, seed: int, ids: list[str]) -> dict:
        rng = self.rng
        mechanisms = self.pick["mechanisms"](rng.choice([1, 1, 2, 2, 3, 4]))
        conditions = self.pick["conditions"](rng.choice([1, 1, 1, 2, 2, 3]))
        substances = [s for s in self.pick["substances"](rng.choice([1, 1, 1, 2])) if s != "placebo"] or ["psilocybin"]
        design = self.pick["designs"](1)[0]
        settings = self.pick["settings"](rng.choice([1, 1, 2]))
        year = rng.randint(1995, 2025)
        words = {
            "mech": self.label("mechanisms", mechanisms[0]).lower(),
            "mech2": self.label("mechanisms", mechanisms[-1] if len(mechanisms) > 1 else "connectedness").lower(),
            "cond": self.label("conditions", conditions[0]).lower(),
            "sub": self.label("substances", substances[0]),
            "pop": rng.choice(POPULATIONS),
            "design": DESIGN_PHRASES.get(design, "a study"),
            "Design": _capitalised(DESIGN_PHRASES.get(design, "a study")),
            "design_short": DESIGN_PHRASES.get(design, "study").split(" ", 1)[-1],
            "control": rng.choice(CONTROLS),
            "n": rng.randint(12, 400),
            "weeks": rng.choice([4, 6, 8, 12, 18, 26, 52]),
            "sessions": rng.randint(1, 3),
            "certainty": rng.choice(["high", "moderate", "low", "low", "very-low", "very-low"]),
            "acronym": self.acronym(),
        }
        authors = [
            {"family": rng.choice(FAMILIES).capitalize(), "given": rng.choice(GIVENS)}
            for _ in range(rng.randint(3, 10))
        ]
        entry_id = self._id(authors[0]["family"].lower(), year, mechanisms[0].split("-")[-1])
        data = {
            "id": entry_id,
            "title": rng.choice(TITLE_PATTERNS).format(**words).replace("  ", " "),
            "headline": f"{SYNTHETIC} {words['sub']} and {words['mech']} in {words['cond']}",
            "citation": self._citation(authors, year, index, seed),
            "design": self._design(design, words),
            "sample": self._sample(words["n"], words["pop"]),
            "interventions": [
                {"substance": s, "dose": f"{rng.choice([10, 20, 25, 80, 120])} mg", "sessions": words["sessions"]}
                for s in substances
            ],
            "findings": [self._finding(words) for _ in range(rng.randint(2, 6))],
            "mechanisms": mechanisms,
            "substances": substances,
            "conditions": conditions,
            "summary": {
                section: self._prose(section, words, 3, 6)
                for section in ("background", "overview", "discussion", "implications", "conclusions")
            },
            "applications": [{"setting": s, "text": self._prose("application", words, 1, 3)} for s in settings],
            "limitations": [self._prose("limitation", words, 1, 1) for _ in range(rng.randint(2, 4))],
            "evidence": {"certainty": words["certainty"], "rationale": self._prose("rationale", words, 1, 1)},
            "record": {
                "added": f"2025-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}",
                "reviewed": f"2025-{rng.randint(7, 12):02d}-{rng.randint(1, 28):02d}",
                "contributors": ["make_corpus.py (synthetic)"],
            },
        }
        if ids and rng.random() < 0.05:
            data["related"] = sorted(set(rng.sample(ids, min(len(ids), rng.randint(1, 2)))))
        return data

    def _id(self, family: str, year: int, keyword: str) -> str:
        base = f"{family}-{year}-{keyword}"
        entry_id = base
        for number in itertools.count(2):
            if entry_id not in self.ids:
                break
            entry_id = f"{base}-{number}"
        self.ids.add(entry_id)
        return entry_id

    def _citation(self, authors: list[dict], year: int, index: int, seed: int) -> dict:
        rng = self.rng
        first = rng.randint(1, 900)
        citation = {
            "type": "article",
            "authors": authors,
            "year": year,
            "journal": rng.choice(JOURNALS),
            "volume": str(rng.randint(1, 60)),
            "issue": str(rng.randint(1, 12)),
        }
        if rng.random() < 0.5:
            citation["pages"] = f"{first}-{first + rng.randint(5, 20)}"
        else:
            citation["article_number"] = str(rng.randint(100000, 999999))
        citation["doi"] = f"{DOI_PREFIX}/kb-synthetic.{seed}.{index:06d}"
        return citation

    def _design(self, design: str, words: dict) -> dict:
        rng = self.rng
        result = {"type": design, "randomized": design == "randomized-controlled-trial"}
        if design in ("randomized-controlled-trial", "controlled-trial"):
            result["blinding"] = rng.choice(["double-blind", "single-blind", "triple-blind"])
            result["control"] = words["control"]
            result["phase"] = rng.choice(["1", "2", "2/3", "3"])
        elif design == "open-label-trial":
            result["blinding"] = "open-label"
        result["duration_weeks"] = words["weeks"]
        return result

    def _sample(self, n: int, population: str) -> dict:
        sample = {"n": n, "population": f"{SYNTHETIC} {population.capitalize()}"}
        if self.rng.random() < 0.5:
            treated = self.rng.randint(1, n - 1)
            sample["arms"] = [{"label": "Treatment", "n": treated}, {"label": "Control", "n": n - treated}]
        return sample

    def _finding(self, words: dict) -> dict:
        rng = self.rng
        finding = {
            "outcome": rng.choice([words["cond"].capitalize(), words["mech"].capitalize(), "Quality of life"]),
            "measure": rng.choice(MEASURES),
            "direction": rng.choice(["improved", "improved", "improved", "no-difference", "mixed", "worsened"]),
            "summary": self._prose("discussion", words, 1, 2),
        }
        if rng.random() < 0.5:
            finding["effect"] = effect = self._effect()
            finding["p"] = rng.choice(["<0.001", 0.002, 0.01, 0.03, 0.2])
            finding["source"] = "Table 2"
            if finding["direction"] == "improved" and effect["metric"] in SMD_METRICS and effect["value"] < 0:
                effect["value"] = -effect["value"]  # the sign convention: a positive SMD favours the treatment
                if "ci" in effect:
                    effect["ci"] = [-effect["ci"][1], -effect["ci"][0]]
        if rng.random() < 0.4:
            finding["timepoint"] = rng.choice(TIMEPOINTS)
        return finding

    def _effect(self) -> dict:
        rng = self.rng
        metric = rng.choice(METRICS)
        if metric in ("odds_ratio", "risk_ratio", "hazard_ratio"):
            value = round(math.exp(rng.uniform(-1.2, 1.5)), 2)
            spread = math.exp(rng.uniform(0.1, 0.7))
            low, high = math.floor(value / spread * 100) / 100, math.ceil(value * spread * 100) / 100
        elif metric == "r":
            value = round(rng.uniform(-0.6, 0.6), 2)
            low, high = round(max(-1, value - rng.uniform(0.05, 0.3)), 2), round(min(1, value + 0.2), 2)
            low, high = min(low, value), max(high, value)
        else:
            value = round(rng.uniform(-0.4, 1.6), 2)
            low, high = round(value - rng.uniform(0.1, 0.6), 2), round(value + rng.uniform(0.1, 0.6), 2)
        effect = {"metric": metric, "value": value}
        if rng.random() < 0.7:
            effect["ci"] = [low, high]
        return effect

    def _prose(self, section: str, words: dict, least: int, most: int) -> str:
        count = self.rng.randint(least, most)
        chosen = self.rng.sample(SENTENCES[section], min(count, len(SENTENCES[section])))
        return " ".join(_capitalised(sentence.format(**words)) for sentence in chosen)


def _capitalised(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def distinct_titles(entries: list[dict], writer: EntryWriter) -> None:
    """Re-draw titles until kb's own duplicate check finds no near-identical pair (real studies differ)."""
    for _ in range(20):
        keys = [EntryKey(e["id"], e["id"], None, e["title"], lambda field: (1, 1)) for e in entries]
        clashing = {problem.path for problem in duplicate_problems(keys)}
        if not clashing:
            return
        for entry in entries:
            if entry["id"] in clashing:
                entry["title"] = entry["title"].rsplit(" ", 1)[0] + f" ({writer.acronym()} {writer.acronym()})"
    raise SystemExit("make_corpus: could not make all titles distinct")


def write_corpus(n: int, out: Path, seed: int = 1, mechanisms: int = 300, conditions: int = 300) -> None:
    """Write the knowledge base into a fresh temporary folder beside `out`, then move it into place."""
    rng = random.Random(seed)
    vocabulary = build_vocabulary(rng, mechanisms, conditions)
    writer = EntryWriter(vocabulary, rng)
    entries: list[dict] = []
    ids: list[str] = []
    for index in range(n):
        entries.append(writer.entry(index, seed, ids))
        ids.append(entries[-1]["id"])
    distinct_titles(entries, writer)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (staging / "entries").mkdir()
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        for data in entries:
            text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=110)
            (staging / "entries" / f"{data['id']}.yaml").write_text(HEADER + text, encoding="utf-8")
        vocabulary_text = yaml.dump(vocabulary, Dumper=dumper, sort_keys=False, allow_unicode=True, width=110)
        header = "# SYNTHETIC vocabulary written by scripts/make_corpus.py: the project's terms plus invented ones.\n"
        (staging / "vocabulary.yml").write_text(header + vocabulary_text, encoding="utf-8")
        copy_site_files(staging)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def site_files() -> list[str]:
    """The project's hand-written site files (mkdocs.yml, CONTRIBUTING.md, docs/, templates/), without generated
    pages."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", *SITE_FILES],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(ROOT)) for p in ROOT.glob("templates/**/*") if p.is_file()]
        listed += [str(p.relative_to(ROOT)) for p in ROOT.glob("docs/**/*") if p.is_file()]
        listed += ["mkdocs.yml", "CONTRIBUTING.md"]
    return [name for name in listed if not _generated(name) and (ROOT / name).is_file()]


def _generated(name: str) -> bool:
    folder, _, inside = name.partition("/")
    return folder == "docs" and is_generated(inside)


def copy_site_files(target: Path) -> None:
    for name in site_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, required=True, help="number of entries")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced if it exists)")
    parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same corpus")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.out.exists() and not (args.out / "entries").is_dir() and any(args.out.iterdir()):
        parser.error(f"{args.out} exists and is not a knowledge base; refusing to replace it")
    write_corpus(args.n, args.out, args.seed)
    print(f"wrote {args.n} synthetic entries to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
