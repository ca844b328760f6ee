"""Cue words for emotions and pillars: what the lexicon backend reads without a model.

The lexicon backend (the fast path) scores emotions and pillars by counting cue words
in each sentence, in Dutch and English. The lists are short and written by hand for
customer-service language, following the labelling guide of the CX sentence set
(``data/cx_sentences/GUIDE.md``); the embedding backend learns the same labels from
data instead and is the more accurate of the two (see ``bench/text_quality.py``).
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


EMOTION_CUES: Final[dict[str, frozenset[str]]] = {
    "anger": _words(
        """woedend razend kwaad boos laaiend schandalig schande belachelijk oplichterij
        oplichters diefstal dieven onbeschoft arrogant brutaal waardeloos walgelijk
        spuugzat liegen gelogen leugen leugens bah furious livid angry outraged outrageous
        disgraceful disgusting scam scammers theft thieves rude arrogant useless liars
        lying lied ridiculous infuriating seething hate pathetic 😡 🤬 😠"""
    ),
    "frustration": _words(
        """alweer weer opnieuw irritant irritatie frustrerend gefrustreerd ergerlijk
        storing klopt werkt lukt hangt vastgelopen nogsteeds kastje doorverbonden
        annoying annoyed irritating frustrating frustrated again still stuck freezing
        freezes broken transferred glitch error fout foute 😤 🙄"""
    ),
    "worry": _words(
        """bang ongerust zorgen bezorgd angst vrees vrees nerveus zenuwachtig onveilig
        eng schrok hopelijk hoop worried worry anxious afraid scared fear fearful nervous
        concerned unsafe uneasy hope hopefully 😟 😰 😨"""
    ),
    "uncertainty": _words(
        """twijfel twijfels twijfelen onzeker onduidelijk verwarrend snap begrijp weet
        vraag verward idee klopt waarom welke wanneer unsure uncertain unclear confusing
        confused doubt doubts wonder understand know sure clue why which whether lost 🤔"""
    ),
    "disappointment": _words(
        """jammer helaas teleurgesteld teleurstelling teleurstellend spijtig zonde sneu
        verdrietig ontevreden minder slechter verwacht gehoopt disappointed disappointing
        disappointment unfortunately sadly sad shame pity unhappy worse expected hoped
        letdown let-down 😞 😢 😭 😔"""
    ),
    "joy": _words(
        """blij dolblij top super geweldig fantastisch heerlijk fijn prima perfect leuk
        tevreden opgelucht opluchting genieten aanrader toppie happy glad great brilliant
        fantastic wonderful lovely perfect pleased thrilled delighted relief relieved
        enjoy enjoying awesome excellent amazing love satisfied 😀 😃 😄 😁 😊 😍 🥰 👍 🎉"""
    ),
    "trust": _words(
        """bedankt dank dankjewel vertrouwen vertrouw betrouwbaar eerlijk gehoord begrip
        begripvol geduldig vriendelijk respect gewaardeerd waardeer netjes persoonlijk
        thanks thank grateful trust reliable honest heard understanding patient kind
        respect valued appreciate appreciated transparent caring 🙏"""
    ),
    "surprise": _words(
        """verrast verrassend verrassing verbaasd verbazing onverwacht ineens plotseling
        opeens wauw huh wow surprised surprising surprise amazed astonished unexpected
        unexpectedly suddenly shocked 😮 😲 😯"""
    ),
}

PILLAR_CUES: Final[dict[str, frozenset[str]]] = {
    "personalisation": _words(
        """naam persoonlijk gepersonaliseerd kende kenden wisten nummer maat afgestemd
        paste geschiedenis trouwe name personal personalised personalized knew history
        tailored number suited loyal remembered herinnerden"""
    ),
    "integrity": _words(
        """eerlijk oneerlijk beloofd beloofden belofte beloftes afspraak afspraken
        nagekomen liegen gelogen transparant verborgen kosten factuur rekening bedrag
        afgeschreven oplichterij vertrouwen betrouwbaar honest dishonest promised promise
        promises kept lying lied transparent hidden fees charges charged invoice bill
        amount scam trust reliable refund refunded teruggestort"""
    ),
    "expectations": _words(
        """verwacht verwachtte verwachting verwachtingen beloofd gehoopt beter slechter
        eerder later te_laat op_tijd tegenviel meeviel overtroffen expected expectation
        expectations hoped better worse earlier later late promised exceeded"""
    ),
    "resolution": _words(
        """opgelost oplossing oplossen verholpen probleem problemen storing klacht
        gerepareerd geregeld rechtgezet terugkomt solved solution solve fixed fix
        problem problems issue outage complaint repaired sorted resolved"""
    ),
    "time_effort": _words(
        """wachten gewacht wacht wachttijd snel snelle traag lang makkelijk gemakkelijk
        moeilijk moeite gedoe keer doorverbonden minuten uur uren dagen weken online
        formulier opnieuw eenvoudig wait waited waiting hold quick quickly fast slow
        easy hard effort hassle time times transferred minutes hours days weeks form again"""
    ),
    "empathy": _words(
        """vriendelijk onvriendelijk onbeschoft begrip begripvol luisterde geluisterd
        gehoord geduldig menselijk warm respect behandeld behandeling arrogant kind
        friendly unfriendly rude understanding listened heard patient human warm
        respect treated arrogant caring cared"""
    ),
}
