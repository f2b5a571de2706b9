"""Stage 4: turn linked studies into the Markdown pages and downloads under docs/.

`render_site` builds every output in memory (view models in Python, layout in `templates/*.j2`) and
`write_outputs` then writes only the files whose bytes changed, so nothing is half-written when a template
fails and an unchanged entry costs no disk write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import resources

from kb.link import Links
from kb.model import FACETS
from kb.problems import ERROR, Problem, ProblemError, display_path
from kb.project import Project
from kb.references import to_csl_json, to_ris
from kb.render import exports, indexes
from kb.render.common import CERTAINTY_LABELS, CERTAINTY_SYMBOLS, RowCache
from kb.render.output import GENERATED_DIRS, Output, WriteReport, write_outputs
from kb.render.study import study_page
from kb.render.templating import make_environment, render_template
from kb.vocabulary import Vocabulary

__all__ = ["GENERATED_DIRS", "Output", "WriteReport", "render_site", "write_outputs"]

RESERVED_SLUG = "index"  # index.md is each folder's own page


class _Renderer:
    def __init__(self, project: Project, site_name: str):
        self.environment = make_environment(project.templates_dir)
        self.environment.globals.update(
            site_name=site_name,
            certainty_labels=CERTAINTY_LABELS,
            certainty_symbols=CERTAINTY_SYMBOLS,
        )

    def page(self, template: str, path: str, root: str, **context) -> Output:
        text = render_template(self.environment, template, {"root": root, **context})
        return Output(path, text.encode("utf-8"))


def render_site(
    project: Project,
    links: Links,
    vocabulary: Vocabulary,
    site_name: str = "Evidence summaries",
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[Output]:
    """Every generated file, in memory; raises `ProblemError` when a template is broken."""
    _check_reserved(links)
    renderer = _Renderer(project, site_name)
    rows = RowCache(vocabulary)
    outputs = []
    citations: dict[str, list[str]] = {"bib": [], "ris": []}  # each study's, joined again for the whole list
    for study in progress(links.studies) if progress else links.studies:
        page = study_page(study, links, vocabulary, rows)
        outputs.append(renderer.page("study.md.j2", f"studies/{study.id}.md", "../../", page=page))
        citations["bib"].append(page.bibtex)
        citations["ris"].append(to_ris([study]))
        outputs.append(Output(f"downloads/cite/{study.id}.bib", citations["bib"][-1].encode("utf-8")))
        outputs.append(Output(f"downloads/cite/{study.id}.ris", citations["ris"][-1].encode("utf-8")))
    for facet in FACETS:
        for slug in links.terms_in_use(facet):
            term = indexes.term_page(facet, slug, links, vocabulary, rows)
            outputs.append(renderer.page("term.md.j2", f"{facet}/{slug}.md", "../../", page=term))
        facet_view = indexes.facet_page(facet, links, vocabulary)
        outputs.append(renderer.page("facet.md.j2", f"{facet}/index.md", "../", page=facet_view))
    table = indexes.study_table(links, vocabulary, rows)
    outputs.append(renderer.page("studies.md.j2", "studies/index.md", "../", table=table))
    matrices = [
        indexes.evidence_matrix(row, column, links, vocabulary, rows)
        for row, column in (("substances", "conditions"), ("mechanisms", "conditions"))
    ]
    outputs.append(renderer.page("evidence.md.j2", "evidence/index.md", "../", matrices=matrices))
    groups = indexes.bibliography(links, rows)
    outputs.append(renderer.page("bibliography.md.j2", "bibliography/index.md", "../", groups=groups))
    outputs += _downloads(renderer, links, citations)
    outputs.append(renderer.page("feed.xml.j2", "feed.xml", "", feed=exports.feed(links)))
    stats = indexes.stats(links, rows)
    outputs.append(renderer.page("stats.md.j2", ".generated/stats.md", "", stats=stats))
    return outputs


def _downloads(renderer: _Renderer, links: Links, citations: dict[str, list[str]]) -> list[Output]:
    """The whole-list downloads; references.bib and .ris are the studies' own records joined, as to_bibtex and
    to_ris would write them (formatting every reference twice would cost a tenth of the generation time)."""
    files = {
        "downloads/references.bib": "\n".join(citations["bib"]),
        "downloads/references.ris": "\r\n".join(citations["ris"]),
        "downloads/references.json": json.dumps(to_csl_json(links.studies), ensure_ascii=False, indent=1) + "\n",
        "downloads/studies.json": exports.studies_json(links),
        "downloads/studies.csv": exports.studies_csv(links),
        "downloads/study.schema.json": resources.files("kb").joinpath("schema/study.schema.json").read_text("utf-8"),
    }
    outputs = [Output(path, text.encode("utf-8")) for path, text in files.items()]
    sizes = {output.path.rsplit("/", 1)[1]: len(output.content) for output in outputs}
    outputs.append(renderer.page("downloads.md.j2", "downloads/index.md", "../", count=len(links.studies), sizes=sizes))
    return outputs


def _check_reserved(links: Links) -> None:
    for study in links.studies:
        if study.id == RESERVED_SLUG:
            message = f"the id '{RESERVED_SLUG}' is reserved for the study table; choose firstauthor-year-keyword"
            raise ProblemError(Problem(display_path(study.path), 1, 1, ERROR, message))
    for facet, terms in links.by_tag.items():
        if RESERVED_SLUG in terms:
            raise ProblemError(Problem("vocabulary.yml", 1, 1, ERROR, f"the {facet} term slug 'index' is reserved"))
