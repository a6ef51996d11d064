extension Referral {
    /// The events `command` produces in `state`, or why it is refused: first the state table, then the fields.
    public static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection> {
        Result { () throws(Rejection) -> [Event] in
            let check = try Self.check(command, in: state)
            switch (command, state) {
            case (.create(let request), nil):
                try Self.validate(request, check)
                return [.created(request)]
            case (_, nil), (.create, _): throw check.notAllowed  // the state table already refused these
            case (.acknowledge(let at), _): return [.acknowledged(at: at)]
            case (.accept(let at), _): return [.accepted(at: at)]
            case (.decline(let reason, let explanation, let at), _):
                try check.optionalText(explanation, "explanation")
                try check.that(
                    reason != .other || explanation != nil, "explanation", "is required when the reason is other")
                return [.declined(reason: reason, explanation: explanation, at: at)]
            case (.redirect(let newID, let newReceiver, let at), let state?):
                try check.code(newID, "new_referral_id")
                try check.code(newReceiver, "new_receiver")
                try check.that(newReceiver != state.receiver, "new_receiver", "\(newReceiver) has already declined it")
                try check.that(newReceiver != state.source, "new_receiver", "a referral cannot go back to its source")
                return [.redirected(newReferralID: newID, newReceiver: newReceiver, at: at)]
            case (.startService(let at), _): return [.serviceStarted(at: at)]
            case (.complete(let outcome, let at), let state?):
                try Self.validate(outcome, in: state, check)
                return [.completed(outcome: outcome, at: at)]
            case (.postFeedback(let feedback, let at), _):
                try check.text(feedback.outcome, "outcome")
                for service in feedback.servicesGiven { try check.text(service, "services_given") }
                try check.optionalText(feedback.notes, "notes")
                return [.feedbackPosted(feedback, at: at)]
            case (.acknowledgeFeedback(let at), _): return [.feedbackAcknowledged(at: at)]
            case (.cancel(let reason, let at), _):
                try check.text(reason, "reason")
                return [.cancelled(reason: reason, at: at)]
            }
        }
    }

    private static func validate(_ request: Request, _ check: CommandCheck) throws(Rejection) {
        try check.code(request.source, "source")
        try check.code(request.receiver, "receiver")
        try check.that(request.receiver != request.source, "receiver", "must differ from the source")
        // A withheld person (a redirect of a referral whose subject was erased) was checked when recorded.
        if let person = request.person.clear {
            try check.text(person.reference, "person.reference")
            // In canonical order: the same request is refused the same way.
            for (key, _) in person.formFields {
                try check.text(key, "person.form_fields")
                // The log's keys stay below U+10000, where Python's sort_keys gives the canonical order too.
                try check.that(
                    !key.hasCharacterAboveBMP, "person.form_fields",
                    "a field name may not hold characters at or above U+10000 (emoji and the like): \(key)")
            }
        }
        try check.text(request.reason, "reason")
        try check.text(request.referralType, "referral_type")
        try check.optionalCode(request.redirectedFrom, "redirected_from")
    }

    /// A service that never started cannot have been delivered; `other` needs details.
    private static func validate(_ outcome: ServiceOutcome, in state: State, _ check: CommandCheck) throws(Rejection) {
        switch outcome {
        case .delivered:
            try check.that(state.status == .inService, "outcome", "the service never started; start_service first")
        case .notDelivered(let reason, let details):
            try check.optionalText(details, "details")
            try check.that(reason != .other || details != nil, "details", "is required when the reason is other")
        }
    }
}
