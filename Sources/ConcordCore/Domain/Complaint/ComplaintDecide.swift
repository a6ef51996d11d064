extension Complaint {
    /// The events `command` produces in `state`, or why it is refused: first the state table, then the fields.
    public static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection> {
        Result { () throws(Rejection) -> [Event] in
            let check = try Self.check(command, in: state)
            switch (command, state) {
            case (.lodge(let lodgement), nil): return [.lodged(try Self.lodge(lodgement, check))]
            case (_, nil), (.lodge, _): throw check.notAllowed  // the state table already refused these
            case (.acknowledge(let at), _): return [.acknowledged(at: at)]
            case (.assign(let programme, let officer, let at), _):
                try check.code(programme, "programme")
                try check.optionalCode(officer, "officer")
                return [.assigned(programme: programme, officer: officer, at: at)]
            case (.transfer(let target, let reason, let at), let state?):
                return [try Self.transfer(state, to: target, reason: reason, at: at, check)]
            case (.escalate(let target, let reason, let at), let state?):
                try check.code(target, "to_area")
                try check.that(target != state.area, "to_area", "the complaint is already in area \(target)")
                try check.text(reason, "reason")
                let level = state.escalationLevel + 1
                return [.escalated(fromArea: state.area, toArea: target, level: level, reason: reason, at: at)]
            case (.addNote(let text, let at), _):
                try check.text(text, "text")
                return [.noteAdded(text: text, at: at)]
            case (.recordFinding(let text, let at), _):
                try check.text(text, "text")
                return [.findingRecorded(text: text, at: at)]
            case (.resolve(let outcome, let actionsTaken, let at), _):
                try check.text(actionsTaken, "actions_taken")
                return [.resolved(outcome: outcome, actionsTaken: actionsTaken, at: at)]
            case (.notifyComplainant(let method, let at), _): return [.complainantNotified(method: method, at: at)]
            case (.close(let satisfaction, let at), _): return [.closed(satisfaction: satisfaction, at: at)]
            case (.reopen(let reason, let withinWindow, let at), let state?):
                return [try Self.reopen(state, reason: reason, withinAppealWindow: withinWindow, at: at, check)]
            case (.withdraw(let reason, let at), _):
                try check.optionalText(reason, "reason")
                return [.withdrawn(reason: reason, at: at)]
            case (.rejectOutOfScope(let target, let reason, let at), _):
                try check.text(target, "redirect_to")
                try check.optionalText(reason, "reason")
                return [.rejectedOutOfScope(redirectTo: target, reason: reason, at: at)]
            }
        }
    }

    /// Validates a lodgement and forces `sensitive` for the categories that are always sensitive.
    private static func lodge(_ lodgement: Lodgement, _ check: CommandCheck) throws(Rejection) -> Lodgement {
        try check.optionalCode(lodgement.programme, "programme")
        try check.text(lodgement.description, "description")
        try check.code(lodgement.area, "area")
        try check.code(lodgement.office, "office")
        try check.identity(lodgement.complainant, "complainant", contact: lodgement.contactPreference)
        var recorded = lodgement
        recorded.sensitive = lodgement.sensitive || lodgement.category.isAlwaysSensitive
        // Only the handling programme's focal point reads a sensitive complaint: without a programme nobody could
        // triage it (no dead ends).
        try check.that(
            !recorded.sensitive || recorded.programme != nil, "programme",
            "is required for a sensitive complaint: only the programme's focal point may read and triage it")
        return recorded
    }

    private static func transfer(
        _ state: State, to target: String, reason: String, at: Timestamp, _ check: CommandCheck
    ) throws(Rejection) -> Event {
        try check.code(target, "to_programme")
        // An assigned complaint always has a programme; the empty fallback only keeps this total.
        let current = state.programme ?? ""
        try check.that(target != current, "to_programme", "the complaint is already with programme \(target)")
        try check.text(reason, "reason")
        return .transferred(fromProgramme: current, toProgramme: target, reason: reason, at: at)
    }

    /// Reopening a closed complaint needs the caller's word that the window is still open; reopening after the
    /// complainant said they were not satisfied also asks for an appeal.
    private static func reopen(
        _ state: State, reason: String, withinAppealWindow: Bool, at: Timestamp, _ check: CommandCheck
    ) throws(Rejection) -> Event {
        try check.text(reason, "reason")
        let closed = state.status == .closed
        try check.that(
            !closed || withinAppealWindow, "within_appeal_window",
            "the window for reopening has passed; lodge an appeal or a new complaint")
        return .reopened(reason: reason, opensAppeal: closed && state.satisfaction == .notSatisfied, at: at)
    }
}
