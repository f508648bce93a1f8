"""``--attack medfuzz``: the adaptive attack of Ness et al. (2024), reconstructed.

An attacker rewrites an item the target answers correctly, adding patient characteristics
(socioeconomic status, ethnicity, occupation, beliefs, family and social details) that would
not change an expert's answer, turn after turn, until the target flips to a wrong answer.

- **Offline attacker** (default): a black-box search over curated characteristic pools
  (``characteristics.yaml``). Each turn it tries adding one more sentence (from a category not
  used yet) to each state of the beam and keeps the additions that lower the target's
  probability on the gold answer most (greedy = beam of 1). Needs option probabilities.
- **Generative attacker** (``--attacker SPEC``): any text-generating model, prompted with the
  versioned template below; it sees the item, the gold answer and the target's last answer,
  rationale and confidence, and returns a full rewrite.
- **Validity** of every rewrite: options and gold unchanged, every original number and ≥ 95 % of
  the original words still present, length bounded; optionally a judge model. Invalid rewrites
  are discarded and counted.
- **Significance** (our reconstruction; the paper's exact protocol is not public): N control
  rewrites adding the same number of characteristics drawn at random; p = (1 + #controls on
  which the target is also wrong) / (N + 1).

Results: every item with a clean answer gets a ``medfuzz`` row (the final rewrite for attacked
items, turn = the turn it was made; the unchanged item, turn 0, for items the target got wrong
and which are therefore not attacked), so the standard summary gives accuracy before/after on
the same items. Controls are rows of their own perturbation, ``medfuzz_control``.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Prediction, Variant
from ..perturbations.text.pools import SentencePool, insert_after_first, load_characteristics, render
from ..perturbations.text.protect import numbers_in
from ..perturbations.text.sentences import split_sentences
from ..seeding import rng_for
from .base import Attack, Evaluate

SEARCHES = ("greedy", "beam")
STATISTICS = ("wrong", "p_gold")
ATTACKER_TEMPLATE_VERSION = "medfuzz-attacker-v1"
JUDGE_TEMPLATE_VERSION = "medfuzz-judge-v1"

ATTACKER_SYSTEM = (
    "You help test the robustness of a medical question-answering model (the MedFuzz protocol). "
    "You rewrite a multiple-choice clinical question by adding details about the patient - socioeconomic "
    "status, ethnicity, occupation, beliefs, family or social circumstances - that would NOT change the "
    "correct answer for a medical expert but might lead a less robust model to a wrong answer. Keep every "
    "original sentence, finding and number exactly as written, keep the final question, never change the "
    "options, and never state or hint at an answer."
)

ATTACKER_USER = """\
Question:
{question}

Options:
{options}

Correct answer: {answer}. {answer_text}

This is attempt {turn} of {max_turns}.
{feedback}

Write the complete rewritten question (all of the original text plus your additions) between <rewrite> and \
</rewrite>. Then list each sentence you added, one per line, between <added> and </added>."""

JUDGE_QUESTION = """\
A multiple-choice clinical question was rewritten by adding details about the patient.

Original question:
{original}

Rewritten question:
{rewritten}

Options:
{options}

Would a medical expert choose a different answer for the rewritten question than for the original one?"""

_REWRITE = re.compile(r"<rewrite>(.*?)</rewrite>", re.DOTALL | re.IGNORECASE)
_WORD = re.compile(r"[a-z]{3,}")


def attacker_prompt(item: Item, *, turn: int, max_turns: int, last: Prediction | None,
                    last_rewrite: str | None, invalid_reason: str | None) -> str:
    """The user message of template ``medfuzz-attacker-v1``."""
    feedback: list[str] = []
    if last is not None:
        confidence = f" with confidence {last.confidence:.2f}" if last.confidence is not None else ""
        if last_rewrite is not None:
            choice = last.choice or "(unparseable)"
            choice_text = item.options.get(last.choice or "", "")
            feedback.append(f"Your previous rewrite:\n{last_rewrite}\n\nThe model still answered {choice}. "
                            f"{choice_text}{confidence}.")
        else:
            feedback.append(f"On the original question the model answered {last.choice}{confidence}.")
        rationale = (last.text or "").strip()
        if rationale and rationale != last.choice:
            feedback.append(f"Its explanation: {rationale[:1500]}")
        if last_rewrite is not None:
            feedback.append("Try different or additional patient details.")
    if invalid_reason:
        feedback.append(f"Your previous rewrite was rejected: {invalid_reason}.")
    options = "\n".join(f"{k}. {v}" for k, v in item.options.items())
    return ATTACKER_USER.format(question=item.question, options=options, answer=item.answer,
                                answer_text=item.answer_text, turn=turn, max_turns=max_turns,
                                feedback="\n".join(feedback))


def parse_rewrite(text: str) -> str | None:
    """The rewritten question between <rewrite> tags, or None."""
    match = _REWRITE.search(text or "")
    if match is None:
        return None
    rewrite = match.group(1).strip()
    return rewrite or None


def added_sentences(original: str, rewrite: str) -> list[str]:
    before = set(split_sentences(original))
    return [s for s in split_sentences(rewrite) if s not in before]


def check_rewrite(original: Item, rewritten: Item, *, max_length_ratio: float = 2.0, max_added_chars: int = 600,
                  min_recall: float = 0.95) -> str | None:
    """Why ``rewritten`` is not a valid MedFuzz rewrite of ``original`` (None when it is)."""
    if dict(rewritten.options) != dict(original.options):
        return "the options were changed"
    if rewritten.answer != original.answer:
        return "the gold answer was changed"
    missing = Counter(numbers_in(original.question)) - Counter(numbers_in(rewritten.question))
    if missing:
        return f"clinical values are missing ({', '.join(sorted(missing)[:3])})"
    old_words = Counter(_WORD.findall(original.question.lower()))
    new_words = Counter(_WORD.findall(rewritten.question.lower()))
    if old_words:
        recall = sum((old_words & new_words).values()) / sum(old_words.values())
        if recall < min_recall:
            return f"original content was removed (only {recall:.0%} of the original words remain)"
    limit = max(max_length_ratio * len(original.question), len(original.question) + max_added_chars)
    if len(rewritten.question) > limit:
        return f"too long ({len(rewritten.question)} characters, limit {int(limit)})"
    if rewritten.question.strip() == original.question.strip():
        return "nothing was added"
    return None


def p_value_test(control_wrong: Sequence[bool], alpha: float) -> dict[str, Any]:
    """The permutation test of robust.stats, as the params of the attack's row."""
    from ..stats.medfuzz import medfuzz_test

    result = medfuzz_test(list(control_wrong), alpha=alpha)
    return {"p_value": result.p_value, "n_controls": result.n_controls, "n_controls_wrong": result.n_controls_wrong,
            "significant": result.significant}


def _spec(model: Any, default: str) -> Any:
    """What config.json records for a model given as a spec string or as an object (its ``spec``)."""
    return model if model is None or isinstance(model, str) else getattr(model, "spec", default)


@dataclass
class _State:
    added: tuple[tuple[str, int], ...]
    item: Item
    prediction: Prediction | None = None

    @property
    def p_gold(self) -> float:
        assert self.prediction is not None
        p = self.prediction.p_of(self.item.answer)
        return 1.0 if p is None else p


@dataclass
class _Attempt:
    """One attacked item's progress."""

    source: Item
    clean: Prediction
    beam: list[_State]
    turn: int = 0
    success: _State | None = None
    best: _State | None = None
    queries: int = 0
    control_queries: int = 0
    discard_reasons: Counter[str] = field(default_factory=Counter)
    trace: list[float] = field(default_factory=list)
    rewrite_text: str | None = None
    invalid_reason: str | None = None
    last_prediction: Prediction | None = None
    test: dict[str, Any] | None = None  # the permutation test of a successful attack, once its controls ran

    @property
    def discarded(self) -> int:
        return sum(self.discard_reasons.values())

    def discard(self, reason: str) -> None:
        """Count a rejected rewrite under the reason's short form (without its parenthesised details)."""
        self.discard_reasons[reason.split(" (")[0]] += 1


class MedFuzzAttack(Attack):
    name: ClassVar[str] = "medfuzz"
    result_columns = frozenset({"params", "question"})
    summary: ClassVar[str] = "MedFuzz: adaptive multi-turn patient-characteristic attack with permutation-test controls"
    requires: ClassVar[frozenset[str]] = frozenset({"options"})
    unsummarized: ClassVar[frozenset[str]] = frozenset({"medfuzz_control"})
    costly: ClassVar[bool] = True  # several attacker turns and controls per item: scans run it only when named
    #: what `robust perturb --attack medfuzz` writes: the final rewrites, not the controls
    export_perturbations: ClassVar[tuple[str, ...]] = ("medfuzz",)

    def __init__(self, *, max_turns: int = 5, attacker: Any = None, search: str = "greedy", beam_width: int = 3,
                 candidates: int = 0, controls: int = 30, alpha: float = 0.05, statistic: str = "wrong",
                 characteristics: str | None = None, max_length_ratio: float = 2.0, max_added_chars: int = 600,
                 min_recall: float = 0.95, judge: Any = None, store: str | None = None) -> None:
        if max_turns < 1:
            raise UsageError("--max-turns must be at least 1")
        if search not in SEARCHES:
            raise UsageError(f"--search must be one of {', '.join(SEARCHES)}")
        if statistic not in STATISTICS:
            raise UsageError(f"--statistic must be one of {', '.join(STATISTICS)}")
        if controls < 0 or candidates < 0 or beam_width < 1:
            raise UsageError("--controls and --candidates must be >= 0 and --beam-width >= 1")
        if not 0 < alpha < 1:
            raise UsageError("--alpha must be between 0 and 1")
        self.max_turns = max_turns
        self.search = search
        self.beam_width = 1 if search == "greedy" else beam_width
        self.candidates = candidates
        self.controls = controls
        self.alpha = alpha
        self.statistic = statistic
        self.pool: SentencePool = load_characteristics(characteristics)
        self.max_length_ratio = max_length_ratio
        self.max_added_chars = max_added_chars
        self.min_recall = min_recall
        self.attacker = attacker
        self.judge = judge
        self.store = store
        self._attacker_model: Any = None
        self._judge_model: Any = None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("medfuzz attack")
        group.add_argument("--max-turns", type=int, default=5, help="attacker turns per item (default 5)")
        group.add_argument("--attacker", help="generative attacker model spec (openai:..., hf:...); default: the "
                           "offline search over characteristic pools")
        group.add_argument("--search", choices=SEARCHES, default="greedy",
                           help="offline attacker search (default greedy)")
        group.add_argument("--beam-width", type=int, default=3,
                           help="states kept per turn by --search beam (default 3)")
        group.add_argument("--candidates", type=int, default=0,
                           help="offline: characteristic sentences tried per state and turn (default 0 = all)")
        group.add_argument("--controls", type=int, default=30, help="random control rewrites per successful attack "
                           "(default 30)")
        group.add_argument("--alpha", type=float, default=0.05, help="significance level of the permutation test "
                           "(default 0.05; significant when p <= alpha)")
        group.add_argument("--statistic", choices=STATISTICS, default="wrong",
                           help="control counts against the attack when the target is wrong on it (wrong, default) "
                                "or gives the gold answer no more probability than the attack did (p_gold)")
        group.add_argument("--characteristics", help="YAML file with your own characteristic pools "
                           "(see characteristics.yaml)")
        group.add_argument("--max-length-ratio", type=float, default=2.0,
                           help="a rewrite may be this many times the original length, or 600 characters longer "
                                "(default 2.0)")
        group.add_argument("--judge", help="optional judge model spec asked whether the rewrite changes the "
                           "expert answer; rewrites it says yes to are discarded")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "MedFuzzAttack":
        return cls(max_turns=args.max_turns, attacker=args.attacker, search=args.search, beam_width=args.beam_width,
                   candidates=args.candidates, controls=args.controls, alpha=args.alpha, statistic=args.statistic,
                   characteristics=args.characteristics, max_length_ratio=args.max_length_ratio, judge=args.judge,
                   store=getattr(args, "store", None))

    def options(self) -> Mapping[str, Any]:
        attacker = _spec(self.attacker, type(self.attacker).__name__)
        return {"max_turns": self.max_turns, "attacker": attacker or f"offline-{self.search}",
                "beam_width": self.beam_width, "candidates": self.candidates, "controls": self.controls,
                "alpha": self.alpha, "statistic": self.statistic, "characteristics": self.pool.path,
                "characteristics_version": self.pool.version, "max_length_ratio": self.max_length_ratio,
                "min_recall": self.min_recall, "judge": _spec(self.judge, "judge"),
                "attacker_template": ATTACKER_TEMPLATE_VERSION,
                "significance": "p = (1 + #controls wrong) / (N + 1), significant when p <= alpha"}

    def perturbation_names(self) -> list[str]:
        return ["medfuzz"]

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        """Only the clean variants: the rewrites depend on the target's answers (see ``execute``)."""
        return [Variant.clean(item, self.name) for item in items]

    # ---- building rewrites ---------------------------------------------------------------------------
    def _with_additions(self, source: Item, added: Sequence[tuple[str, int]]) -> Item:
        sentences = [render(self.pool.categories[c][i], source.question) for c, i in added]
        return source.replace(question=insert_after_first(source.question, sentences))

    def _expansions(self, attempt: _Attempt, state: _State, seed: int) -> list[tuple[tuple[str, int], ...]]:
        used = {c for c, _ in state.added}
        options = [(c, i) for c in self.pool.categories if c not in used for i in range(len(self.pool.categories[c]))]
        if self.candidates and len(options) > self.candidates:
            rng = rng_for(seed, attempt.source.id, "medfuzz", 0, "candidates", attempt.turn, state.added)
            options = [options[int(j)] for j in sorted(rng.choice(len(options), size=self.candidates, replace=False))]
        return [state.added + (option,) for option in options]

    def control_items(self, source: Item, n_added: int, seed: int) -> list[tuple[Item, tuple[tuple[str, int], ...]]]:
        """N rewrites adding ``n_added`` characteristics drawn at random (one per category)."""
        categories = list(self.pool.categories)
        out = []
        for j in range(self.controls):
            rng = rng_for(seed, source.id, "medfuzz_control", 0, j)
            chosen = [categories[int(k)] for k in rng.choice(len(categories), size=min(n_added, len(categories)),
                                                            replace=False)]
            added = tuple((c, int(rng.integers(len(self.pool.categories[c])))) for c in chosen)
            out.append((self._with_additions(source, added), added))
        return out

    def _valid(self, attempt: _Attempt, candidate: Item) -> str | None:
        return check_rewrite(attempt.source, candidate, max_length_ratio=self.max_length_ratio,
                             max_added_chars=self.max_added_chars, min_recall=self.min_recall)

    # ---- models other than the target ----------------------------------------------------------------
    def _runner(self, model: Any) -> Any:
        from ..run.runner import Runner
        from ..run.store import ResponseStore

        return Runner(model, ResponseStore(self.store))

    def _load_generator(self, spec: Any) -> Any:
        if not isinstance(spec, str):
            return spec
        from ..models import load_model
        from ..models.prompting import PromptTemplate

        template = PromptTemplate(version=ATTACKER_TEMPLATE_VERSION, system=ATTACKER_SYSTEM, user="{{ question }}",
                                  source="robust.attacks.medfuzz")
        try:
            return load_model(spec, template=template, max_tokens=1024, generate=True)
        except TypeError:  # an adapter without these settings: it gets the prompt as the question
            return load_model(spec)

    def _attacker_runner(self) -> Any:
        if self._attacker_model is None:
            self._attacker_model = self._runner(self._load_generator(self.attacker))
        return self._attacker_model

    def _judge_runner(self) -> Any:
        if self._judge_model is None:
            from ..models import load_model

            model = load_model(self.judge) if isinstance(self.judge, str) else self.judge
            self._judge_model = self._runner(model)
        return self._judge_model

    def _judged(self, candidates: Sequence[tuple[_Attempt, Item]]) -> list[int]:
        """Indexes of the candidates the judge lets through (all of them without a judge); a vetoed
        rewrite is counted as discarded and, for a generative attacker, fed back as the reason."""
        rejected = self._judge_rejects(candidates)
        kept = []
        for index, ((attempt, _), reject) in enumerate(zip(candidates, rejected)):
            if reject:
                attempt.discard("judge: answer would change")
                attempt.invalid_reason = "a judge found that the added details change the correct answer"
            else:
                kept.append(index)
        return kept

    def _judge_rejects(self, pairs: Sequence[tuple[_Attempt, Item]]) -> list[bool]:
        """True where the judge says an expert would answer the rewrite differently."""
        if self.judge is None or not pairs:
            return [False] * len(pairs)
        questions = []
        for attempt, candidate in pairs:
            options = "\n".join(f"{k}. {v}" for k, v in attempt.source.options.items())
            text = JUDGE_QUESTION.format(original=attempt.source.question, rewritten=candidate.question,
                                         options=options)
            judge_item = Item(id=f"{attempt.source.id}::judge", question=text, options={"A": "yes", "B": "no"},
                              answer="B")
            questions.append(Variant(item=judge_item, source_id=attempt.source.id, attack=self.name,
                                     perturbation="judge", params={"template": JUDGE_TEMPLATE_VERSION}))
        verdicts = self._judge_runner().evaluate(questions)
        return [v.choice == "A" for v in verdicts]

    # ---- the attack loop -----------------------------------------------------------------------------
    def execute(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> list[tuple[Variant, Prediction]]:
        try:
            return self._execute(items, evaluate, seed=seed)
        finally:
            for runner in (self._attacker_model, self._judge_model):
                if runner is not None:
                    runner.store.close()
                    close = getattr(runner.model, "close", None)
                    if callable(close):
                        close()
            self._attacker_model = self._judge_model = None

    def _execute(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> list[tuple[Variant, Prediction]]:
        clean_variants = self.variants(items, seed=seed)
        clean_predictions = evaluate(clean_variants)
        pairs: list[tuple[Variant, Prediction]] = list(zip(clean_variants, clean_predictions))
        attempts: list[_Attempt] = []
        for item, prediction in zip(items, clean_predictions):
            if prediction.error is not None:
                continue  # no clean answer: nothing to compare against
            if prediction.choice != item.answer:
                pairs.append((Variant(item=item, source_id=item.id, attack=self.name, perturbation="medfuzz",
                                      params={"attacked": False, "reason": "wrong on the clean item"},
                                      description="not attacked: the target was already wrong"), prediction))
                continue
            if self.statistic == "p_gold" and prediction.probs is None:
                raise UsageError(f"--statistic p_gold needs option probabilities, and the target gave none for "
                                 f"{item.id}; use --statistic wrong")
            if self.attacker is None and prediction.probs is None:
                raise UsageError(f"the offline MedFuzz attacker needs option probabilities, and the target gave none "
                                 f"for {item.id}; use a model that reports them (minilm does) or pass --attacker SPEC")
            attempts.append(_Attempt(source=item, clean=prediction, beam=[_State((), item, prediction)],
                                     last_prediction=prediction))
        for turn in range(1, self.max_turns + 1):
            active = [a for a in attempts if a.success is None]
            if not active:
                break
            for attempt in active:
                attempt.turn = turn
            if self.attacker is None:
                self._offline_turn(active, evaluate, seed)
            else:
                self._generative_turn(active, evaluate, turn)
        controls = self._controls(attempts, evaluate, seed)
        pairs.extend(self._final_rows(attempts))
        pairs.extend(controls)
        return pairs

    def _offline_turn(self, active: Sequence[_Attempt], evaluate: Evaluate, seed: int) -> None:
        batch: list[tuple[_Attempt, _State]] = []
        for attempt in active:
            seen: set[frozenset[tuple[str, int]]] = set()
            for state in attempt.beam:
                for added in self._expansions(attempt, state, seed):
                    key = frozenset(added)
                    if key in seen:
                        continue
                    seen.add(key)
                    candidate = self._with_additions(attempt.source, added)
                    reason = self._valid(attempt, candidate)
                    if reason is not None:
                        attempt.discard(reason)
                        continue
                    batch.append((attempt, _State(added, candidate)))
        kept = [batch[i] for i in self._judged([(a, s.item) for a, s in batch])]
        predictions = evaluate([self._probe_variant(a, s.item) for a, s in kept])
        by_attempt: dict[int, list[_State]] = {}
        for (attempt, state), prediction in zip(kept, predictions):
            attempt.queries += 1
            if prediction.error is not None:
                continue
            state.prediction = prediction
            by_attempt.setdefault(id(attempt), []).append(state)
        for attempt in active:
            states = sorted(by_attempt.get(id(attempt), []), key=lambda s: (s.p_gold, len(s.added)))
            if not states:
                continue
            flipped = [s for s in states if s.prediction is not None and s.prediction.choice != attempt.source.answer]
            attempt.trace.append(states[0].p_gold)
            if flipped:
                attempt.success = attempt.best = flipped[0]
            else:
                attempt.beam = states[: self.beam_width]
                attempt.best = states[0]

    def _probe_variant(self, attempt: _Attempt, candidate: Item) -> Variant:
        return Variant(item=candidate, source_id=attempt.source.id, attack=self.name, perturbation="medfuzz_probe",
                       turn=attempt.turn)

    def _generative_turn(self, active: Sequence[_Attempt], evaluate: Evaluate, turn: int) -> None:
        prompts = []
        for attempt in active:
            text = attacker_prompt(attempt.source, turn=turn, max_turns=self.max_turns,
                                   last=attempt.last_prediction, last_rewrite=attempt.rewrite_text,
                                   invalid_reason=attempt.invalid_reason)
            prompt_item = Item(id=f"{attempt.source.id}::attacker::t{turn}", question=text,
                               options={"A": "rewrite"}, answer="A", instruction=ATTACKER_SYSTEM)
            prompts.append(Variant(item=prompt_item, source_id=attempt.source.id, attack=self.name,
                                   perturbation="attacker", turn=turn,
                                   params={"template": ATTACKER_TEMPLATE_VERSION}))
        replies = self._attacker_runner().evaluate(prompts)
        candidates: list[tuple[_Attempt, Item]] = []
        for attempt, reply in zip(active, replies):
            rewrite = parse_rewrite(reply.text) if reply.error is None else None
            reason: str | None
            if rewrite is None:
                reason = f"attacker error: {reply.error}" if reply.error else "no <rewrite> block in the reply"
            else:
                candidate = attempt.source.replace(question=rewrite)
                reason = self._valid(attempt, candidate)
            if reason is not None:
                attempt.discard(reason)
                attempt.invalid_reason = reason
                continue
            candidates.append((attempt, candidate))
        kept = [candidates[i] for i in self._judged(candidates)]
        predictions = evaluate([self._probe_variant(a, c) for a, c in kept])
        for (attempt, candidate), prediction in zip(kept, predictions):
            attempt.queries += 1
            attempt.invalid_reason = None
            attempt.rewrite_text = candidate.question
            attempt.last_prediction = prediction
            if prediction.error is not None:
                continue
            added = tuple(("generated", k) for k in range(len(added_sentences(attempt.source.question,
                                                                                candidate.question))))
            state = _State(added, candidate, prediction)
            p = prediction.p_of(attempt.source.answer)
            if p is not None:
                attempt.trace.append(p)
            attempt.best = state
            if prediction.choice != attempt.source.answer:
                attempt.success = state

    def _final_rows(self, attempts: Sequence[_Attempt]) -> list[tuple[Variant, Prediction]]:
        """One ``medfuzz`` row per attacked item; a tested success carries its p-value."""
        attacker = self.options()["attacker"]
        rows = []
        for attempt in attempts:
            state = attempt.success or attempt.best
            base = {"attacked": True, "success": attempt.success is not None, "target_queries": attempt.queries,
                    "discarded": attempt.discarded, "discard_reasons": dict(attempt.discard_reasons),
                    "p_gold_clean": attempt.clean.p_of(attempt.source.answer), "p_gold_trace": attempt.trace,
                    "attacker": attacker}
            if state is None or state.prediction is None:
                rows.append((Variant(item=attempt.source, source_id=attempt.source.id, attack=self.name,
                                     perturbation="medfuzz", params=base | {"turns": attempt.turn, "added": []},
                                     description="attacked, but no valid rewrite was produced"), attempt.clean))
                continue
            added = added_sentences(attempt.source.question, state.item.question)
            turn = attempt.turn
            params = base | {"turns": turn, "added": added, "categories": [c for c, _ in state.added],
                             "p_gold_final": state.p_gold, "choice_final": state.prediction.choice}
            verb = f"flipped to {state.prediction.choice} at turn {turn}" if attempt.success else \
                f"no flip in {turn} turns"
            description = f"{verb}; added: " + " ".join(added)
            if attempt.test is not None:
                params |= attempt.test | {"control_queries": attempt.control_queries, "statistic": self.statistic,
                                          "alpha": self.alpha}
                flag = "significant" if attempt.test["significant"] else "not significant"
                description += f" (p = {attempt.test['p_value']:.3f}, {flag})"
            rows.append((Variant(item=state.item, source_id=attempt.source.id, attack=self.name,
                                 perturbation="medfuzz", turn=turn, params=params, description=description),
                         state.prediction))
        return rows

    def _controls(self, attempts: Sequence[_Attempt], evaluate: Evaluate,
                  seed: int) -> list[tuple[Variant, Prediction]]:
        """Control rewrites for each successful attack; its permutation test goes to ``attempt.test``."""
        successes = [a for a in attempts if a.success is not None]
        if not successes or self.controls == 0:
            return []
        batch: list[Variant] = []
        owners: list[_Attempt] = []
        for attempt in successes:
            assert attempt.success is not None
            n_added = max(1, len(added_sentences(attempt.source.question, attempt.success.item.question)))
            for j, (item, added) in enumerate(self.control_items(attempt.source, n_added, seed)):
                batch.append(Variant(item=item, source_id=attempt.source.id, attack=self.name,
                                     perturbation="medfuzz_control",
                                     params={"variant_key": f"c{j}", "categories": [c for c, _ in added],
                                             "n_added": n_added},
                                     description=f"control {j}: {n_added} random characteristic(s)"))
                owners.append(attempt)
        predictions = evaluate(batch)
        wrong: dict[int, list[bool]] = {}
        for attempt, prediction in zip(owners, predictions):
            attempt.control_queries += 1
            if prediction.error is not None:
                continue  # a failed control is left out of N
            assert attempt.success is not None
            if self.statistic == "wrong":
                counts = prediction.choice != attempt.source.answer
            else:
                p = prediction.p_of(attempt.source.answer)
                counts = p is not None and p <= attempt.success.p_gold
            wrong.setdefault(id(attempt), []).append(bool(counts))
        for attempt in successes:
            attempt.test = p_value_test(wrong.get(id(attempt), []), self.alpha)
        return list(zip(batch, predictions))

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """Success rate, turns to success, share significant, target queries per success."""
        import json

        if results is None or len(results) == 0:
            return {}
        rows = results[results["perturbation"] == "medfuzz"]
        if not len(rows):
            return {}
        params = [json.loads(p) if isinstance(p, str) else dict(p or {}) for p in rows["params"]]
        attacked = [p for p in params if p.get("attacked")]
        successes = [p for p in attacked if p.get("success")]
        significant = [p for p in successes if p.get("significant")]
        queries = sum(int(p.get("target_queries", 0)) for p in attacked)
        control_queries = sum(int(p.get("control_queries", 0)) for p in attacked)
        turns = [int(p["turns"]) for p in successes]
        clean = results[(results["perturbation"] == "clean") & results["item_id"].isin(rows["item_id"])]
        examples = []
        for (_, row), p in zip(rows.iterrows(), params):
            if p.get("success"):
                examples.append({"item_id": row["item_id"], "turn": int(row["turn"]), "added": p.get("added", []),
                                 "answer": row["answer"], "choice": row["choice"], "p_value": p.get("p_value"),
                                 "significant": p.get("significant"), "question": row["question"]})
        if not successes:
            verdict = (f"no successful attack: the target kept the right answer on all {len(attacked)} attacked items"
                       if attacked else "no item was attacked: the target was wrong on every clean item")
        elif not any("p_value" in p for p in successes):
            verdict = f"{len(successes)} of {len(attacked)} attacks succeeded; no controls were run, so none is tested"
        else:
            verdict = (f"{len(successes)} of {len(attacked)} attacks succeeded; {len(significant)} significant "
                       f"(permutation test, p <= {self.alpha})" if significant else
                       f"{len(successes)} of {len(attacked)} attacks succeeded, but none is significant: random "
                       f"controls fool the target as often (p <= {self.alpha} needed)")
        def per_success(total: int) -> float | None:
            return total / len(successes) if successes else None

        histogram = {str(k): v for k, v in sorted(Counter(turns).items())}
        return {
            "verdict": verdict,
            "n_items": int(len(rows)),
            "n_attacked": len(attacked),
            "n_success": len(successes),
            "success_rate": len(successes) / len(attacked) if attacked else None,
            "n_significant": len(significant),
            "share_significant": len(significant) / len(successes) if successes else None,
            "turns_to_success": {"mean": sum(turns) / len(turns), "median": statistics.median(turns),
                                 "histogram": histogram} if turns else None,
            "target_queries": queries,
            "control_queries": control_queries,
            "target_queries_per_success": per_success(queries),
            "target_queries_per_success_with_controls": per_success(queries + control_queries),
            "discarded_rewrites": sum(int(p.get("discarded", 0)) for p in attacked),
            "accuracy_before": float(clean["correct"].mean()) if len(clean) else None,
            "accuracy_after": float(rows["correct"].mean()),
            "controls": self.controls, "alpha": self.alpha, "statistic": self.statistic,
            "successful_rewrites": examples,
        }
