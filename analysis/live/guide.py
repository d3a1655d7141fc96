"""The guide beside the model: each phase's central questions, and what the model does for them.

The class reads the guide to the "Kreislauf des Vertrauens" (the second
source document): for each of the five phases it asks central questions and
gives checklists. :data:`GUIDE` holds a selection of those questions in
English with the guide's German wording, and beside each phase what the
model does for it and which slider, line of the feed or running plot shows
it. The live app's Guide panel shows them; each line of the event feed links
to its phase here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GUIDE", "Phase", "anchor"]


@dataclass(frozen=True)
class Phase:
    """One phase of the cycle as the guide puts it and as the model runs it.

    Attributes
    ----------
    kind : str
        The phase's label in the model and the feed (``"partner search"``).
    english, german : str
        Its name in English and in the guide.
    questions : tuple of (str, str)
        Central questions of the guide: (English, German).
    model : str
        What the model does in this phase.
    shown_by : str
        Where the app shows it: sliders, feed lines, plots.
    """

    kind: str
    english: str
    german: str
    questions: tuple[tuple[str, str], ...]
    model: str
    shown_by: str


def anchor(kind: str) -> str:
    """The id of a phase's section in the Guide panel (``"guide-partner-search"``)."""
    return "guide-" + kind.replace(" ", "-")


#: The five phases, in the order of the cycle.
GUIDE: tuple[Phase, ...] = (
    Phase(
        "needs assessment",
        "1. Needs assessment",
        "Bedarfsermittlung",
        (
            (
                "For what purpose should a cooperation be entered?",
                "Für welche Zwecke soll eine Kooperation eingegangen werden?",
            ),
            (
                "Which capacities, competences and resources do I need from my partners?",
                "Welche Kapazitäten/Kompetenzen/Ressourcen benötige ich von meinen Kooperationspartner*innen?",
            ),
            (
                "Which capacities, competences and resources do I bring into the cooperation?",
                "Welche Kapazitäten/Kompetenzen/Ressourcen bringe ich als Unternehmen in die Kooperation mit ein?",
            ),
        ),
        "A firm compares what it needs in each capability (production, engineering, digital, administration, "
        "marketing) with what it has, its partners cover and shared services carry; only a real gap and free "
        "capacity start a cooperation.",
        'Feed: "... lacks digital know-how and starts a needs assessment". Grey lines in the network; the '
        "first panel of the running plots. The Shared services switch removes a need the group's service firms cover.",
    ),
    Phase(
        "partner search",
        "2. Partner search",
        "Kooperationspartner*innen finden",
        (
            (
                "Does the partner's portfolio fit my needs? (a requirements profile)",
                "Das Produkt- bzw. Serviceportfolio des*der Partner*in ist auf meine Bedarfe zugeschnitten",
            ),
            (
                "Is the partner similar in size, stability and digital maturity, and in company culture?",
                "Der*die Partner*in ähnelt meinem Unternehmen hinsichtlich Größe, Stabilität und digitalem Reifegrad",
            ),
            (
                "Am I choosing in haste a firm I already know? (the frequent mistake)",
                "Oft ist es naheliegend, sich für ein Unternehmen als Partner*in zu entscheiden, mit dem es bereits "
                "Kontakte gab",
            ),
        ),
        "The gaps become a requirements profile; candidates are scored on fit, similarity of size, digital "
        "maturity and culture, experience, location and perceived trustworthiness; competitors are risky; the "
        "candidate must expect a gain too (win-win). With the familiarity bias a firm picks among firms it "
        "already knows.",
        'Slider: Familiarity bias. Feed: "starts a partner search ... with a requirements profile" or '
        '"... among the firms it already knows", and "chooses ... (a firm it already knows, picked in '
        'haste)". Yellow lines in the network.',
    ),
    Phase(
        "structure",
        "3. Building the structure",
        "Aufbau von Kooperationsstrukturen",
        (
            ("What common goal do we pursue?", "Welches gemeinsame Ziel verfolgen wir?"),
            (
                "Who invests what (money, working time, competence)?",
                "Wer investiert was (Finanzen/Arbeitszeit/Kompetenz)?",
            ),
            (
                "Which conflicts are conceivable, and what can we do to prevent them?",
                "Welche Konflikte sind vorstellbar? Was können wir präventiv dagegen tun?",
            ),
        ),
        "The partners agree on transparency (worth more value, but know-how leaks to a competitor), the degree "
        "of formal contract (control that stands in for missing trust, at a cost), a set-up time and cost "
        "(lower on a shared campus) and the evaluation date.",
        'Feed: "both agree: transparency 0.62, contract 0.31, set-up until month 5". Light blue lines in '
        "the network. The Competition switch makes group members competitors, who share less.",
    ),
    Phase(
        "relationship",
        "4. Shaping the relationship",
        "Geschäftsbeziehungen gestalten",
        (
            ("What are our shared values?", "Was sind unsere gemeinsamen Werte?"),
            (
                "When and how often do we meet to coordinate?",
                "Wann und wie oft trifft man sich für Abstimmungen (auch virtuell)?",
            ),
            (
                "Who looks after the cohesion of the network?",
                "Wer kümmert sich um den Zusammenhalt des Netzwerks (Coaches, zentrale Personalstellen, o.Ä.)?",
            ),
        ),
        "Each month each partner keeps or breaks the agreement (integrity, contract, temptation), contributes "
        "by its competence and shares value fairly or grabs (benevolence); each side updates its trust in the "
        "other, pillar by pillar; cultures converge and know-how flows.",
        "Slider: Mean integrity; the Breach! button. Feed: \"breaks its agreement with ...; ...'s trust in it "
        'is now 0.71". Green lines (wider: more trust); Mean trust, Value created and Digital maturity in '
        "the running plots; the Firm inspector's trust by pillar.",
    ),
    Phase(
        "evaluation",
        "5. Evaluation",
        "Evaluation",
        (
            (
                "Was a win-win reached, so that all partners profit equally?",
                "Konnte eine Win-Win Situation hergestellt werden, sodass alle Kooperationspartner*innen "
                "gleichermaßen profitieren?",
            ),
            ("Does the cost/benefit account work out for everyone?", "Geht die Kosten/Nutzen Rechnung für alle auf?"),
            (
                "Which lessons go into the cooperation agreement?",
                "Sichern Sie die Nachhaltigkeit der Erkenntnisse ... und fügen Sie diese ggf. der "
                "Kooperationsvereinbarung hinzu.",
            ),
        ),
        "At the agreed date each side weighs realised against expected net benefit, trust and culture fit; "
        "it continues (lessons go into the agreement: transparency and contract adapted) or exits, and the "
        "exit's reason is recorded. Freed capacity goes into the next needs assessment: the cycle closes.",
        'Slider: Evaluation period. Feed: "evaluate their cooperation and continue" or "end their '
        "cooperation after evaluation: ...'s trust in ... fell to 0.31\". Purple lines; the black ticks on "
        "the running plots' first panel mark months with exits.",
    ),
)
