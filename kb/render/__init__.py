"""Stage 4: turn linked studies into the Markdown pages and downloads under docs/.

`render_site` renders every page (view models in Python, layout in `templates/*.j2`) and writes only the files
whose bytes changed, each atomically (kb.render.output), so no reader ever sees half a page and an unchanged
entry costs no disk write. Files are written as soon as their chunk of studies is rendered: when a template
fails part way, docs/ can hold new pages beside old ones (every one whole; generated folders docs/ did not have
yet are not created at all), and `kb build` stops before MkDocs, so the published site/ is never touched.
Given a `RenderMemory` (kb serve), only the pages whose inputs changed since the last run are rendered
(kb.render.reuse).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from itertools import islice

from kb.defaults import ASSET_OVERRIDES, ASSETS_DIR, TEMPLATES_DIR, layered
from kb.link import Links
from kb.load import gc_paused
from kb.model import FACETS, Study
from kb.parallel import map_chunks
from kb.problems import ERROR, Problem, ProblemError, display_path
from kb.project import Project
from kb.references import Reference, to_csl_json, year_suffixes
from kb.render import exports, indexes
from kb.render.common import CERTAINTY_LABELS, CERTAINTY_SYMBOLS, RowCache
from kb.render.output import GENERATED_DIRS, DocsWriter, Output, WriteReport, Written, write_outputs
from kb.render.reuse import JobName, Kept, RenderMemory, context_key, page_keys
from kb.render.study import study_page
from kb.render.synthesis import synthesis_records
from kb.render.templating import make_environment, render_template
from kb.vocabulary import Vocabulary

__all__ = ["GENERATED_DIRS", "Output", "WriteReport", "render_site", "write_outputs"]

RESERVED_SLUG = "index"  # index.md is each folder's own page
ASSETS_FOLDER = "kb-assets"  # docs/kb-assets/: the scripts and stylesheets mkdocs.yml names


class _Renderer:
    def __init__(self, project: Project, site_name: str):
        self.project = project
        self.environment = make_environment(project.templates_dir, TEMPLATES_DIR)
        self.environment.globals.update(
            site_name=site_name,
            certainty_labels=CERTAINTY_LABELS,
            certainty_symbols=CERTAINTY_SYMBOLS,
        )

    def page(self, template: str, path: str, root: str, **context) -> Output:
        text = render_template(self.environment, template, {"root": root, **context})
        return Output(path, text.encode("utf-8"))


@dataclass(frozen=True)
class StudyFiles:
    """One study's parts of the whole-list downloads, and its formatted reference for the bibliography."""

    id: str
    bibtex: str
    ris: str
    csl_json: str
    record_json: str
    csv_line: str
    reference: Reference


def render_site(
    project: Project,
    links: Links,
    vocabulary: Vocabulary,
    site_name: str = "Evidence summaries",
    progress: Callable[[Iterable], Iterable] | None = None,
    memory: RenderMemory | None = None,
) -> WriteReport:
    """Render every generated file and bring docs/ up to date; raises `ProblemError` when a template is broken.

    Study pages, term pages and the tables built from study rows are rendered by worker processes (kb.parallel),
    each writing the pages it rendered, so that writing overlaps rendering. The pages built from formatted
    references (bibliography, downloads, feed) come last, here, from the pieces the workers sent back (APA
    references, BibTeX, RIS, JSON records), so that no reference is formatted twice. With `memory`, study and
    term pages whose inputs did not change are not rendered again (kb.render.reuse)."""
    _check_reserved(links)
    renderer = _Renderer(project, site_name)
    rows = RowCache(vocabulary, year_suffixes({study.id: study.citation for study in links.studies}))
    if memory is not None:
        memory.start(context_key(site_name, project.vocabulary_path, [project.templates_dir, TEMPLATES_DIR]))
    writer = DocsWriter.open(project.docs_dir)
    try:
        written = _render_pages(renderer, links, vocabulary, rows, writer, progress, memory)
    except BaseException:
        writer.abandon()
        if memory is not None:
            memory.forget()  # pages of this run may have been written: what it remembers no longer holds
        raise
    return writer.finish(written)


def _render_pages(
    renderer: _Renderer,
    links: Links,
    vocabulary: Vocabulary,
    rows: RowCache,
    writer: DocsWriter,
    progress,
    memory: RenderMemory | None,
) -> list[Written]:
    listings = _Listings(renderer, links, vocabulary, rows)

    def render_one(job: Study | Listing) -> tuple[list[Output], StudyFiles | None]:
        if isinstance(job, Study):
            return _study_files(renderer, job, links, vocabulary, rows)
        return listings.render(job), None

    def render(chunk: list[Study | Listing]) -> list[tuple[StudyFiles | None, list[Written]]]:
        with gc_paused(collect_after=True):
            rendered = [render_one(job) for job in chunk]
        written = iter(writer.write([output for outputs, _ in rendered for output in outputs]))
        return [(files, list(islice(written, len(outputs)))) for outputs, files in rendered]

    # The big tables first, so that a worker is never left with one of them at the end while the other idles.
    jobs = [*listings.tables(), *links.studies, *listings.terms()]
    keys = listings.keys() if memory is not None else {}
    done = _unchanged(memory, keys, writer.docs_dir)
    todo = [job for job in jobs if _job_name(job) not in done]
    written = [(path, False) for held in done.values() for path in held.paths]
    for job, (files, job_written) in zip(todo, map_chunks(render, todo, progress), strict=True):
        name = _job_name(job)
        done[name] = Kept(keys.get(name, b""), tuple(path for path, _ in job_written), files)
        written += job_written
    if memory is not None:
        memory.remember({name: held for name, held in done.items() if name in keys})
    studies = [done[("study", study.id)].files for study in links.studies]
    rows.remember_references({files.id: files.reference for files in studies})
    pages = _reference_pages(renderer, links, rows, studies)
    return written + writer.write(pages + _assets(renderer.project))


def _unchanged(memory: RenderMemory | None, keys: dict[JobName, bytes], docs_dir) -> dict[JobName, Kept]:
    """The jobs whose inputs are what they were at the last run and whose files are still in docs/."""
    if memory is None:
        return {}
    kept = {name: memory.reusable(name, key, docs_dir) for name, key in keys.items()}
    return {name: held for name, held in kept.items() if held is not None}


def _job_name(job: Study | Listing) -> JobName:
    return ("study", job.id) if isinstance(job, Study) else job


Listing = tuple[str, ...]  # ("term", facet, slug), or a table of every study, such as ("studies",)


class _Listings:
    """The pages that list studies by their rows: one per vocabulary term in use, the facet indexes, the study
    table, the evidence matrices and the statistics.

    Each is named by a small tuple, so that worker processes can share them out (the names travel, the pages are
    rendered and written where they are rendered)."""

    TABLES = ("studies", "evidence", "facets", "stats")  # costliest first

    def __init__(self, renderer: _Renderer, links: Links, vocabulary: Vocabulary, rows: RowCache):
        self.renderer, self.links, self.vocabulary, self.rows = renderer, links, vocabulary, rows

    def tables(self) -> list[Listing]:
        return [(name,) for name in self.TABLES]

    def terms(self) -> list[Listing]:
        return [("term", facet, slug) for facet in FACETS for slug in self.links.terms_in_use(facet)]

    def keys(self) -> dict[JobName, bytes]:
        """The key of every study page and term page (kb.render.reuse); the tables have none: they show every
        study, so they are rendered on every run."""
        terms = [(facet, slug) for _, facet, slug in self.terms()]
        return page_keys(self.links, self.rows, terms, self._narrower)

    def _narrower(self, facet: str, slug: str) -> list[str]:
        return [term.slug for term in self.vocabulary.narrower(facet, slug)]

    def render(self, listing: Listing) -> list[Output]:
        kind, *arguments = listing
        return getattr(self, f"_{kind}")(*arguments)

    def _term(self, facet: str, slug: str) -> list[Output]:
        term = indexes.term_page(facet, slug, self.links, self.vocabulary, self.rows)
        return [self.renderer.page("term.md.j2", f"{facet}/{slug}.md", "../../", page=term)]

    def _facets(self) -> list[Output]:
        return [
            self.renderer.page(
                "facet.md.j2", f"{facet}/index.md", "../", page=indexes.facet_page(facet, self.links, self.vocabulary)
            )
            for facet in FACETS
        ]

    def _studies(self) -> list[Output]:
        table = indexes.study_table(self.links, self.vocabulary, self.rows)
        return [self.renderer.page("studies.md.j2", "studies/index.md", "../", table=table)]

    def _evidence(self) -> list[Output]:
        matrices = [
            indexes.evidence_matrix(row, column, self.links, self.vocabulary)
            for row, column in (("substances", "conditions"), ("mechanisms", "conditions"))
        ]
        return [self.renderer.page("evidence.md.j2", "evidence/index.md", "../", matrices=matrices)]

    def _stats(self) -> list[Output]:
        return [
            self.renderer.page("stats.md.j2", ".generated/stats.md", "", stats=indexes.stats(self.links, self.rows))
        ]


def _reference_pages(renderer: _Renderer, links: Links, rows: RowCache, studies: list[StudyFiles]) -> list[Output]:
    """The bibliography, the whole-list downloads and the feed: built from the formatted references."""
    groups = indexes.bibliography(links, rows)
    return [
        renderer.page("bibliography.md.j2", "bibliography/index.md", "../", groups=groups),
        *_downloads(renderer, links, studies),
        renderer.page("feed.xml.j2", "feed.xml", "", feed=exports.feed(links, rows)),
    ]


def _study_files(
    renderer: _Renderer, study: Study, links: Links, vocabulary: Vocabulary, rows: RowCache
) -> tuple[list[Output], StudyFiles]:
    """The study's page, and its parts of the whole-list downloads."""
    page = study_page(study, links, vocabulary, rows)
    outputs = [renderer.page("study.md.j2", f"studies/{study.id}.md", "../../", page=page)]
    csl_json = exports.json_item(to_csl_json([study])[0])
    record_json = exports.json_item(exports.study_record(study))
    csv_line = exports.csv_line(study)
    return outputs, StudyFiles(study.id, page.bibtex, page.ris, csl_json, record_json, csv_line, page.reference)


def _downloads(renderer: _Renderer, links: Links, studies: list[StudyFiles]) -> list[Output]:
    """The whole-list downloads, joined from each study's part (as to_bibtex, to_ris and to_csl_json would write
    them for the whole list: formatting every reference twice would cost a tenth of the generation time)."""
    files = {
        "downloads/references.bib": "\n".join(files.bibtex for files in studies),
        "downloads/references.ris": "\r\n".join(files.ris for files in studies),
        "downloads/references.json": exports.json_list([files.csl_json for files in studies]),
        "downloads/studies.json": exports.json_list([files.record_json for files in studies]),
        "downloads/studies.csv": exports.studies_csv([files.csv_line for files in studies]),
        "downloads/study.schema.json": resources.files("kb").joinpath("schema/study.schema.json").read_text("utf-8"),
        "downloads/synthesis.json": exports.synthesis_json(synthesis_records(links)),
    }
    outputs = [Output(path, text.encode("utf-8")) for path, text in files.items()]
    sizes = {output.path.rsplit("/", 1)[1]: len(output.content) for output in outputs}
    outputs.append(renderer.page("downloads.md.j2", "downloads/index.md", "../", count=len(links.studies), sizes=sizes))
    return outputs


def _assets(project: Project) -> list[Output]:
    """The scripts and stylesheets the pages use (and the feed's XSL stylesheet), copied into docs/: the
    generator's, or a knowledge base's own file of the same name in templates/assets/ (kb.defaults)."""
    files = layered(project.templates_dir / ASSET_OVERRIDES, ASSETS_DIR)
    return [Output(f"{ASSETS_FOLDER}/{name}", path.read_bytes()) for name, path in files.items()]


def _check_reserved(links: Links) -> None:
    for study in links.studies:
        if study.id == RESERVED_SLUG:
            message = f"the id '{RESERVED_SLUG}' is reserved for the study table; choose firstauthor-year-keyword"
            raise ProblemError(Problem(display_path(study.path), 1, 1, ERROR, message))
    for facet, terms in links.by_tag.items():
        if RESERVED_SLUG in terms:
            raise ProblemError(Problem("vocabulary.yml", 1, 1, ERROR, f"the {facet} term slug 'index' is reserved"))
