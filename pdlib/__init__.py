"""pdlib: the thin helper package behind the PairDistill companion notebooks.

Floors, bottom to top. A module imports only from floors below its own (or its own floor, without a circle);
tests/test_layers.py parses every import and fails on an upward one or a circle.

1. paths, config, atomic                 where things live, profiles and parameters, atomic writes
2. placing, data, models                local copies of datasets; dataset ids (ir_datasets); model ids (registry, loaders)
3. cache                                 derived stage keys, the `stage` decorator, hand-over between notebooks
4. retrieve, plaid, teachers, jobs       first stage (faiss, PLAID); teachers' prompts and scores; sharded
                                         resumable scoring jobs and the per-teacher score store
5. pairs, losses, students, batches, md2pr
                                         pair sampling and training lists (§4.2); L_CL, L_KD, L_pair; the
                                         ColBERT and DPR students; training batches and their micro-batches;
                                         MD2PR's word level and false-negative filter (07_beyond)
6. train, distill                        one training loop for ColBERT and DPR students; the PairDistill
                                         stages end to end and their iterations (§4.3)
7. evaluate, evalsets                    ir-measures, BEIR averages, ODQA; the evaluation sets of Tables 1-2
8. paper, tables, figures, plan, runner, nbclean, beyond
                                         published numbers; tables beside the paper's; saved artifacts; the
                                         work and cost of a profile (--plan); papermill; the notebooks' git filter;
                                         07_beyond's comparisons (kd sampling, MD2PR, the pair budget)
9. smoke                                 the toy world: synthetic data, tiny stand-in models and their training.
                                         A plug-in (entry point `pdlib.plugins`): it registers its dataset and
                                         model ids into `data` and `models`; nothing below imports it.
"""

__version__ = "0.1.0"


class PdlibError(Exception):
    """An error the user can act on; its message says what to do. In a notebook it shows as that one line
    (IPython's `_render_traceback_`), not a stack the reader has to dig through."""

    def _render_traceback_(self) -> list[str]:
        return [f"\033[31m{type(self).__name__}\033[0m: {self}"]


class Interrupted(KeyboardInterrupt):
    """A long loop stopped by the user (Ctrl-C, the notebook's stop button): one line saying where it stopped
    and how to go on, instead of a 40-line trace."""

    def _render_traceback_(self) -> list[str]:
        return [f"\033[33mInterrupted\033[0m: {self}"]


_plugins_loaded = False


def load_plugins() -> None:
    """Import the plug-ins installed under the entry-point group `pdlib.plugins` (once per process).

    The registries of `data` and `models` call this on an id they do not know, so `synthetic/*` and `tiny/*`
    resolve without the core importing the smoke world."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="pdlib.plugins"):
        ep.load()
