"""Demo call scripts: a default script per call reason (Italian and English) and one of MS-ADHERE.

``create_call_scripts()`` is idempotent: existing scripts (program, reason, language) are left as
they are, so a counsellor's edits in the admin survive a re-seed.
"""

from __future__ import annotations

from ..models import CallScript, Interaction, Program

R = Interaction.Reason

GREETING = {
    "it": (
        "1. Saluto: «Buongiorno, sono {{operatore}} del servizio di supporto al paziente "
        "CuraPlus. Parlo con il/la sig./sig.ra {{paziente}}?»"
    ),
    "en": (
        "1. Greeting: “Good morning, this is {{operator}} from the CuraPlus patient support "
        "service. Am I speaking with {{patient}}?”"
    ),
}
IDENTITY = {
    "it": (
        "2. Verifica dell'identità, prima di parlare della terapia: chieda il codice paziente "
        "(PT-XXXX-XXXX, è sulla tessera del programma) e la data di nascita. Se non "
        "corrispondono, non dia informazioni cliniche: proponga di richiamare."
    ),
    "en": (
        "2. Identity check, before any word on the therapy: ask for the patient code "
        "(PT-XXXX-XXXX, on the program card) and the birth date. If they do not match, give no "
        "clinical information and offer to call back."
    ),
}
CLOSING = {
    "it": (
        "Da registrare: motivo, esito (risolto, richiamata, caso aperto…), durata e una nota "
        "breve e oggettiva.\n"
        "Evento avverso: se il paziente riferisce un disturbo nuovo o peggiorato dopo il farmaco "
        "(anche se lieve, anche se pensa non c'entri), usi «Segnala sospetto evento avverso» "
        "sulla timeline: reazione, data d'inizio, gravità, chi lo riferisce. Il conteggio per "
        "la farmacovigilanza parte da ora. Se i sintomi sono gravi (difficoltà a respirare, "
        "gonfiore del volto, dolore al petto) dica di chiamare il 112."
    ),
    "en": (
        "What to record: reason, outcome (resolved, call back, case opened…), duration and a "
        "short, factual note.\n"
        "Adverse event: if the patient mentions a new or worse complaint after the drug (even a "
        "mild one, even if they think it is unrelated), use “Flag a suspected adverse event” on "
        "the timeline: reaction, onset date, seriousness, who reports it. The pharmacovigilance "
        "clock starts now. For severe symptoms (breathing difficulty, swollen face, chest pain) "
        "tell them to call 112."
    ),
}
# Reason → (title, questions) per language.
QUESTIONS: dict[str, dict[str, tuple[str, str]]] = {
    R.ADHERENCE_CHECK: {
        "it": (
            "Chiamata di controllo dell'aderenza",
            "- Come sta andando la terapia? Ha saltato qualche dose nelle ultime due settimane?\n"
            "- Se sì: perché (dimenticanza, effetti collaterali, farmaco finito)?\n"
            "- Ricorda i promemoria del diario nell'app? Vuole attivarli?",
        ),
        "en": (
            "Adherence check call",
            "- How is the therapy going? Any dose skipped in the last two weeks?\n"
            "- If so: why (forgot, side effects, ran out)?\n"
            "- Do you use the diary reminders in the app? Shall we switch them on?",
        ),
    },
    R.MISSED_DOSES: {
        "it": (
            "Dosi saltate",
            "- Il diario non mostra dosi negli ultimi giorni: ha assunto il farmaco e non l'ha "
            "registrato, oppure l'ha saltato?\n"
            "- Se l'ha saltato: perché? Ha ancora farmaco a casa?\n"
            "- Concordi come recuperare secondo le indicazioni del medico (non improvvisi dosi).",
        ),
        "en": (
            "Missed doses",
            "- The diary shows no dose in the last days: did you take the drug without logging "
            "it, or skip it?\n"
            "- If skipped: why? Do you still have the drug at home?\n"
            "- Agree how to go on as the doctor prescribed (never improvise extra doses).",
        ),
    },
    R.MISSED_DELIVERY: {
        "it": (
            "Consegna mancata",
            "- La consegna del farmaco non è andata a buon fine: cosa è successo?\n"
            "- Ha farmaco sufficiente fino alla prossima consegna?\n"
            "- Concordi una nuova finestra e un recapito; avvisi la logistica.",
        ),
        "en": (
            "Missed delivery",
            "- The drug delivery did not take place: what happened?\n"
            "- Do you have enough drug until the next delivery?\n"
            "- Agree a new window and a contact number; tell logistics.",
        ),
    },
    R.APPOINTMENT: {
        "it": (
            "Appuntamento",
            "- Confermi data, ora e luogo dell'appuntamento.\n"
            "- Serve un trasporto o un accompagnatore?\n"
            "- Ricordi cosa portare (esami, piano terapeutico).",
        ),
        "en": (
            "Appointment",
            "- Confirm the date, time and place of the appointment.\n"
            "- Is transport or a companion needed?\n"
            "- Remind what to bring (tests, therapy plan).",
        ),
    },
    R.THERAPY_QUESTION: {
        "it": (
            "Domanda sulla terapia",
            "- Qual è la domanda? Annoti le parole del paziente.\n"
            "- Risponda solo con le informazioni del foglietto e del programma; per dosaggi e "
            "cambi di terapia rimandi al medico e apra un caso se serve una risposta.",
        ),
        "en": (
            "Question about the therapy",
            "- What is the question? Note the patient's own words.\n"
            "- Answer only from the leaflet and the program material; for doses and therapy "
            "changes refer to the doctor and open a case when an answer is owed.",
        ),
    },
    R.SIDE_EFFECT: {
        "it": (
            "Effetto collaterale",
            "- Che disturbo ha? Da quando? È cambiato dopo l'ultima dose?\n"
            "- Quanto è intenso (0–10)? Ha dovuto sospendere il farmaco o andare dal medico?\n"
            "- Ogni effetto riferito è un sospetto evento avverso: lo segnali subito.",
        ),
        "en": (
            "Side effect",
            "- What complaint? Since when? Did it change after the last dose?\n"
            "- How strong (0–10)? Did you stop the drug or see a doctor?\n"
            "- Every reported effect is a suspected adverse event: flag it now.",
        ),
    },
    R.LOGISTICS: {
        "it": (
            "Consegna o ritiro",
            "- Verifichi indirizzo, citofono e finestra oraria preferita.\n"
            "- Per la catena del freddo: c'è qualcuno in casa per ricevere il farmaco?\n"
            "- Per il ritiro rifiuti: il contenitore è chiuso e pronto?",
        ),
        "en": (
            "Delivery or pickup",
            "- Check address, doorbell name and preferred time window.\n"
            "- Cold chain: will someone be at home to receive the drug?\n"
            "- Waste pickup: is the container sealed and ready?",
        ),
    },
    R.COMPLAINT: {
        "it": (
            "Reclamo",
            "- Ascolti senza interrompere; riassuma il problema con le parole del paziente.\n"
            "- Chieda cosa si aspetta come soluzione.\n"
            "- Apra un caso «reclamo» e dica entro quando riceverà risposta.",
        ),
        "en": (
            "Complaint",
            "- Listen without interrupting; sum up the problem in the patient's words.\n"
            "- Ask what outcome they expect.\n"
            "- Open a “complaint” case and say by when they will hear back.",
        ),
    },
    R.INFORMATION: {
        "it": (
            "Informazioni",
            "- Di quale informazione ha bisogno (servizi del programma, orari, documenti)?\n"
            "- Se non può rispondere subito, apra un caso «informazione» e richiami.",
        ),
        "en": (
            "Information",
            "- What information is needed (program services, hours, documents)?\n"
            "- If you cannot answer at once, open an “information” case and call back.",
        ),
    },
    R.OTHER: {
        "it": (
            "Altro motivo",
            "- Chieda il motivo della chiamata e lo riassuma.\n"
            "- Se riguarda la salute o il farmaco, segua la parte sugli eventi avversi.",
        ),
        "en": (
            "Other reason",
            "- Ask the reason of the call and sum it up.\n"
            "- If it concerns health or the drug, follow the adverse-event part.",
        ),
    },
}
MS_ADHERE_MISSED_DELIVERY = {
    "it": (
        "MS-ADHERE — consegna mancata prima dell'infusione",
        "- La consegna del farmaco per l'infusione domiciliare non è avvenuta: verifichi "
        "subito la data dell'infusione con l'infermiera.\n"
        "- Il farmaco viaggia a 2–8 °C: la nuova consegna deve arrivare al massimo il giorno "
        "prima dell'infusione, con qualcuno in casa.\n"
        "- Se la consegna non è possibile in tempo, apra un caso «logistica» urgente e avvisi "
        "l'infermiera per spostare l'infusione (non oltre la finestra del piano).",
    ),
    "en": (
        "MS-ADHERE — missed delivery before the infusion",
        "- The drug for the home infusion was not delivered: check the infusion date with the "
        "nurse at once.\n"
        "- The drug travels at 2–8 °C: the new delivery must arrive at the latest the day "
        "before the infusion, with someone at home.\n"
        "- If it cannot arrive in time, open an urgent “logistics” case and ask the nurse to "
        "move the infusion (within the pathway's window).",
    ),
}


def _body(language: str, questions: str) -> str:
    return "\n\n".join(
        [
            GREETING[language],
            IDENTITY[language],
            "3. " + ("Domande:" if language == "it" else "Questions:") + "\n" + questions,
            CLOSING[language],
        ]
    )


def create_call_scripts() -> int:
    """Create the missing demo call scripts; returns how many were created."""
    created = 0
    for reason, per_language in QUESTIONS.items():
        for language, (title, questions) in per_language.items():
            _script, made = CallScript.objects.get_or_create(
                program=None,
                reason=reason,
                language=language,
                defaults={"title": title, "body": _body(language, questions)},
            )
            created += made
    program = Program.objects.filter(code="MS-ADHERE").first()
    if program is not None:
        for language, (title, questions) in MS_ADHERE_MISSED_DELIVERY.items():
            _script, made = CallScript.objects.get_or_create(
                program=program,
                reason=R.MISSED_DELIVERY,
                language=language,
                defaults={"title": title, "body": _body(language, questions)},
            )
            created += made
    return created
