import ConcordCore
import Testing

/// Request bodies: every command from a valid body, every kind of bad body, and the round trip body → command →
/// event payload over random walks.
@Suite struct CommandRequestTests {
    static let at = Fixture.time(5)

    static func problems(_ error: CommandRequestError) -> [String] {
        error.problems.map(\.description)
    }

    /// The problems of decoding `body` as `name`, or nil when it decodes.
    static func problems<M: CommandRequestDecoding>(
        _ machine: M.Type, _ name: M.CommandName, _ body: JSONValue
    ) -> [String]? {
        do {
            _ = try M.command(name, body: body, at: Self.at)
            return nil
        } catch {
            return Self.problems(error)
        }
    }

    // MARK: valid bodies

    @Test func everyComplaintCommandDecodesFromItsBody() throws {
        let at = Self.at
        let cases: [(Complaint.CommandName, JSONValue, Complaint.Command)] = [
            (.acknowledge, [:], .acknowledge(at: at)),
            (.assign, ["programme": "CCT", "officer": "OF-7"], .assign(programme: "CCT", officer: "OF-7", at: at)),
            (.assign, ["programme": "CCT", "officer": nil], .assign(programme: "CCT", officer: nil, at: at)),
            (
                .transfer, ["to_programme": "SP", "reason": "pension"],
                .transfer(toProgramme: "SP", reason: "pension", at: at)
            ),
            (.escalate, ["to_area": "P-01", "reason": "late"], .escalate(toArea: "P-01", reason: "late", at: at)),
            (.addNote, ["text": "called"], .addNote(text: "called", at: at)),
            (.recordFinding, ["text": "paid twice"], .recordFinding(text: "paid twice", at: at)),
            (
                .resolve, ["outcome": "partly_upheld", "actions_taken": "paid"],
                .resolve(outcome: .partlyUpheld, actionsTaken: "paid", at: at)
            ),
            (.notifyComplainant, ["method": "sms"], .notifyComplainant(method: .sms, at: at)),
            (.close, ["satisfaction": "not_satisfied"], .close(satisfaction: .notSatisfied, at: at)),
            (.close, [:], .close(satisfaction: nil, at: at)),
            (.reopen, ["reason": "still unpaid"], .reopen(reason: "still unpaid", withinAppealWindow: false, at: at)),
            (
                .reopen, ["reason": "x", "within_appeal_window": true],
                .reopen(reason: "x", withinAppealWindow: true, at: at)
            ),
            (.withdraw, [:], .withdraw(reason: nil, at: at)),
            (.withdraw, ["reason": "paid now"], .withdraw(reason: "paid now", at: at)),
            (
                .rejectOutOfScope, ["redirect_to": "Land office"],
                .rejectOutOfScope(redirectTo: "Land office", reason: nil, at: at)
            ),
        ]
        for (name, body, expected) in cases {
            #expect(try Complaint.command(name, body: body, at: at) == expected, "\(name)")
        }
    }

    @Test func aComplaintIsLodgedFromItsBody() throws {
        let body: JSONValue = [
            "channel": "walk_in", "category": "payment_delay", "description": "The March payment has not arrived.",
            "area": "D-01", "office": "OFF-001", "anonymous": false,
            "complainant": ["name": "Amina Diallo", "phone": "+221 77 000 00 00", "national_id": "SN-123"],
            "contact_preference": "sms", "sensitive": false,
        ]
        let lodgement = Fixture.complaint(complainant: .person(Fixture.amina))
        #expect(try Complaint.command(.lodge, body: body, at: Fixture.time(0)) == .lodge(lodgement))
        let anonymous: JSONValue = [
            "channel": "hotline", "programme": "CCT", "category": "sexual_exploitation_abuse", "description": "x",
            "area": "D-01", "office": "OFF-001", "anonymous": true, "contact_preference": "none", "sensitive": false,
        ]
        guard case .lodge(let made) = try Complaint.command(.lodge, body: anonymous, at: Self.at) else {
            Issue.record("not a lodgement")
            return
        }
        #expect(made.complainant == .anonymous && made.programme == "CCT" && made.channel == .hotline)
    }

    @Test func everyAppealCommandDecodesFromItsBody() throws {
        let at = Self.at
        let lodge: JSONValue = [
            "against": "complaint_outcome", "complaint_id": "c-0001", "grounds": "The household was wrongly scored.",
            "programme": "CCT", "area": "D-01", "office": "OFF-001", "anonymous": true,
            "contact_preference": "in_person",
        ]
        let cases: [(Appeal.CommandName, JSONValue, Appeal.Command)] = [
            (.lodge, lodge, .lodge(Fixture.appeal())),
            (.assign, ["review_level": "district"], .assign(level: .district, reviewer: nil, at: at)),
            (
                .decide, ["decision": "overturned", "reasoning": "r"],
                .decide(decision: .overturned, reasoning: "r", at: at)
            ),
            (.notifyAppellant, ["method": "letter"], .notifyAppellant(method: .letter, at: at)),
            (.close, [:], .close(at: at)),
            (.acknowledge, [:], .acknowledge(at: at)),
            (.addNote, ["text": "Called."], .addNote(text: "Called.", at: at)),
            (.withdraw, ["reason": "Paid."], .withdraw(reason: "Paid.", at: at)),
            (.withdraw, [:], .withdraw(reason: nil, at: at)),
        ]
        for (name, body, expected) in cases {
            let when = name == .lodge ? Fixture.time(0) : at
            #expect(try Appeal.command(name, body: body, at: when) == expected, "\(name)")
        }
        var eligibility = lodge.members
        eligibility["against"] = "eligibility"
        eligibility["complaint_id"] = nil
        let subject = Appeal.Subject.eligibilityDecision
        #expect(
            try Appeal.command(.lodge, body: .object(eligibility), at: Fixture.time(0))
                == .lodge(Fixture.appeal(subject: subject)))
    }

    @Test func everyReferralCommandDecodesFromItsBody() throws {
        let at = Self.at
        let create: JSONValue = [
            "source": "CCT", "receiver": "HEALTH", "reason": "Child needs a nutrition assessment.",
            "person": ["kind": "household", "reference": "HH-42", "form_fields": ["members": "5"]],
            "urgency": "priority", "referral_type": "health",
        ]
        let feedback = Referral.CounterReferral(outcome: "seen", servicesGiven: ["check-up"], notes: nil)
        let cases: [(Referral.CommandName, JSONValue, Referral.Command)] = [
            (.create, create, .create(Fixture.referral())),
            (.acknowledge, [:], .acknowledge(at: at)),
            (.accept, [:], .accept(at: at)),
            (.decline, ["reason": "duplicate"], .decline(reason: .duplicate, explanation: nil, at: at)),
            (
                .redirect, ["new_referral_id": "r-2", "new_receiver": "EDU"],
                .redirect(newReferralID: "r-2", newReceiver: "EDU", at: at)
            ),
            (.startService, [:], .startService(at: at)),
            (.complete, ["outcome": "delivered"], .complete(outcome: .delivered, at: at)),
            (
                .complete, ["outcome": "not_delivered", "not_delivered_reason": "other", "details": "moved"],
                .complete(outcome: .notDelivered(reason: .other, details: "moved"), at: at)
            ),
            (.postFeedback, ["outcome": "seen", "services_given": ["check-up"]], .postFeedback(feedback, at: at)),
            (.acknowledgeFeedback, [:], .acknowledgeFeedback(at: at)),
            (.cancel, ["reason": "moved away"], .cancel(reason: "moved away", at: at)),
        ]
        for (name, body, expected) in cases {
            let when = name == .create ? Fixture.time(0) : at
            #expect(try Referral.command(name, body: body, at: when) == expected, "\(name)")
        }
    }

    @Test func theServerCanChooseTheIdOfARedirectedReferral() throws {
        let command = try Referral.command(.redirect, body: ["new_receiver": "EDU"], at: Self.at, newReferralID: "r-9")
        #expect(command == .redirect(newReferralID: "r-9", newReceiver: "EDU", at: Self.at))
        do {
            _ = try Referral.command(
                .redirect, body: ["new_receiver": "EDU", "new_referral_id": "mine"], at: Self.at, newReferralID: "r-9")
            Issue.record("a client-chosen id was accepted")
        } catch {
            #expect(Self.problems(error) == ["new_referral_id: is set by the server; leave it out"])
        }
        #expect(Self.problems(Referral.self, .redirect, ["new_receiver": "EDU"]) == ["new_referral_id: is missing"])
    }

    @Test func commandNamesAreTheirSnakeCaseSpelling() {
        #expect(Complaint.commandName("notify_complainant") == .notifyComplainant)
        #expect(Appeal.commandName("notify_appellant") == .notifyAppellant)
        #expect(Referral.commandName("acknowledge_feedback") == .acknowledgeFeedback)
        #expect(Complaint.commandName("notifyComplainant") == nil && Referral.commandName("") == nil)
    }

    // MARK: bad bodies

    @Test func aBodyMustBeAnObject() {
        for body: JSONValue in [[], "lodge", 1, nil, true] {
            #expect(Self.problems(Complaint.self, .acknowledge, body) == ["the body must be a JSON object"])
            #expect(Self.problems(Referral.self, .create, body) == ["the body must be a JSON object"])
        }
        let error = #expect(throws: CommandRequestError.self) { try Appeal.command(.close, body: [], at: Self.at) }
        #expect(error?.field == "" && error?.reason == "the body must be a JSON object")
    }

    @Test func anEmptyLodgementNamesEveryMissingMember() {
        #expect(
            Self.problems(Complaint.self, .lodge, [:]) == [
                "channel: is missing", "category: is missing", "description: is missing", "area: is missing",
                "office: is missing", "anonymous: is missing", "contact_preference: is missing",
                "sensitive: is missing",
            ])
        #expect(
            Self.problems(Referral.self, .create, [:]) == [
                "source: is missing", "receiver: is missing", "person: is missing", "reason: is missing",
                "urgency: is missing", "referral_type: is missing",
            ])
        #expect(
            Self.problems(Appeal.self, .lodge, [:]) == [
                "against: is missing", "grounds: is missing", "programme: is missing", "area: is missing",
                "office: is missing", "anonymous: is missing", "contact_preference: is missing",
            ])
    }

    @Test func aBadLodgementNamesEveryBadMemberAtOnce() {
        let body: JSONValue = [
            "channel": "fax", "category": 3, "description": "x", "area": "D-01", "office": ["OFF"],
            "anonymous": false, "complainant": ["phone": 5, "nick": "Mimi"], "contact_preference": "sms",
            "sensitive": "yes", "colour": "blue", "at": "2026-11-25T09:30:00.000000Z",
        ]
        #expect(
            Self.problems(Complaint.self, .lodge, body) == [
                "channel: must be one of walk_in, hotline, sms, web, mobile_unit, letter, community_meeting",
                "category: must be one of targeting_eligibility, payment_delay, staff_conduct, fraud_corruption, "
                    + "service_quality, data_correction, exclusion, sexual_exploitation_abuse, other",
                "office: must be a string", "complainant.nick: unknown field", "complainant.phone: must be a string",
                "sensitive: must be true or false", "at: is set by the server; leave it out",
                "colour: unknown field",
            ])
    }

    @Test func anIdentityMustMatchAnonymous() {
        var body = Self.lodgementBody
        body["anonymous"] = true
        body["complainant"] = ["name": "A"]
        #expect(
            Self.problems(Complaint.self, .lodge, .object(body)) == [
                "complainant: must be absent when anonymous is true"
            ])
        body["anonymous"] = false
        body["complainant"] = nil
        #expect(
            Self.problems(Complaint.self, .lodge, .object(body)) == [
                "complainant: is missing while anonymous is false"
            ])
    }

    @Test func outOfSetValuesNameTheirSet() {
        #expect(
            Self.problems(Complaint.self, .resolve, ["outcome": "fixed", "actions_taken": "paid"]) == [
                "outcome: must be one of upheld, partly_upheld, not_upheld, no_action_possible"
            ])
        #expect(
            Self.problems(Complaint.self, .notifyComplainant, ["method": "email"]) == [
                "method: must be one of phone, sms, in_person, letter, community_meeting"
            ])
        #expect(
            Self.problems(Appeal.self, .assign, ["review_level": "regional", "reviewer": 4]) == [
                "review_level: must be one of community, district, province, national", "reviewer: must be a string",
            ])
        #expect(
            Self.problems(Referral.self, .decline, ["reason": "busy"]) == [
                "reason: must be one of not_eligible, lack_of_capacity, service_not_available, duplicate, "
                    + "incomplete_information, other"
            ])
    }

    @Test func workedOutMembersAreRefusedWithTheirReason() {
        #expect(
            Self.problems(Complaint.self, .escalate, ["to_area": "P-01", "reason": "r", "level": 2, "from_area": "D"])
                == [
                    "from_area: is worked out by Concord; leave it out",
                    "level: is worked out by Concord; leave it out",
                ])
        #expect(
            Self.problems(Complaint.self, .transfer, ["to_programme": "SP", "reason": "r", "from_programme": "CCT"])
                == ["from_programme: is worked out by Concord; leave it out"])
        #expect(
            Self.problems(Complaint.self, .reopen, ["reason": "r", "opens_appeal": true, "within_appeal_window": 1])
                == [
                    "within_appeal_window: must be true or false",
                    "opens_appeal: is worked out by Concord; leave it out",
                ])
        #expect(Self.problems(Complaint.self, .acknowledge, ["note": "hi"]) == ["note: unknown field"])
    }

    @Test func membersThatDependOnAnotherAreChecked() {
        #expect(
            Self.problems(Appeal.self, .lodge, .object(Self.appealBody(["against": "amount", "complaint_id": "c-1"])))
                == ["complaint_id: must be left out unless against is complaint_outcome"])
        #expect(
            Self.problems(Appeal.self, .lodge, .object(Self.appealBody(["against": "complaint_outcome"])))
                == ["complaint_id: is missing while against is complaint_outcome"])
        #expect(
            Self.problems(Referral.self, .complete, ["outcome": "delivered", "details": "ok"])
                == ["details: must be left out when outcome is delivered"])
        #expect(
            Self.problems(Referral.self, .complete, ["outcome": "not_delivered"])
                == ["not_delivered_reason: is missing while outcome is not_delivered"])
        #expect(
            Self.problems(Referral.self, .complete, ["outcome": "lost", "not_delivered_reason": "gone"]) == [
                "outcome: must be one of delivered, not_delivered",
                "not_delivered_reason: must be one of client_refused, lack_of_capacity, no_longer_needed, "
                    + "unable_to_contact_client, provider_unreachable, other",
            ])
    }

    @Test func nestedPersonMembersAreCheckedToo() {
        let body: JSONValue = [
            "source": "CCT", "receiver": "HEALTH", "reason": "r", "urgency": "soon", "referral_type": "health",
            "person": ["reference": "HH-42", "form_fields": ["members": 5], "age": "7"],
        ]
        #expect(
            Self.problems(Referral.self, .create, body) == [
                "person.kind: is missing", "person.form_fields: must be an object of strings",
                "person.age: unknown field", "urgency: must be one of routine, priority, emergency",
            ])
        #expect(
            Self.problems(Referral.self, .postFeedback, ["outcome": "seen", "services_given": "check-up"])
                == ["services_given: must be an array of strings"])
    }

    // MARK: round trip

    /// Over random walks: the body of every accepted command (its event's payload without `at`, adjusted for the
    /// documented exceptions) decodes to the same command.
    @Test func complaintBodiesRoundTrip() {
        let steps = RandomWalk<Complaint>.steps(seed: 41, walks: 400, command: RandomCommand.complaint)
        let failures = steps.compactMap { step -> String? in
            guard let event = step.events.first else { return "no event" }
            var body = event.payload.members
            body["at"] = nil
            switch step.command {
            case .lodge(let lodgement): body["sensitive"] = .bool(lodgement.sensitive)
            case .transfer: body["from_programme"] = nil
            case .escalate: (body["from_area"], body["level"]) = (nil, nil)
            case .reopen(_, let within, _): (body["opens_appeal"], body["within_appeal_window"]) = (nil, .bool(within))
            default: break
            }
            return Self.mismatch(Complaint.self, step.command, body: .object(body), at: event.at)
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map { Complaint.name(of: $0.command) }) == Set(Complaint.CommandName.allCases))
    }

    @Test func appealBodiesRoundTrip() {
        let steps = RandomWalk<Appeal>.steps(seed: 43, walks: 300, command: RandomCommand.appeal)
        let failures = steps.compactMap { step -> String? in
            guard let event = step.events.first else { return "no event" }
            return Self.mismatch(Appeal.self, step.command, body: Self.withoutAt(event.payload), at: event.at)
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map { Appeal.name(of: $0.command) }) == Set(Appeal.CommandName.allCases))
    }

    @Test func referralBodiesRoundTrip() {
        let steps = RandomWalk<Referral>.steps(seed: 47, walks: 400, command: RandomCommand.referral)
        let failures = steps.compactMap { step -> String? in
            guard let event = step.events.first else { return "no event" }
            return Self.mismatch(Referral.self, step.command, body: Self.withoutAt(event.payload), at: event.at)
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map { Referral.name(of: $0.command) }) == Set(Referral.CommandName.allCases))
    }

    static func withoutAt(_ payload: JSONValue) -> JSONValue {
        var members = payload.members
        members["at"] = nil
        return .object(members)
    }

    /// Nil when `body` decodes to `command`; otherwise what went wrong.
    static func mismatch<M: CommandRequestDecoding>(
        _ machine: M.Type, _ command: M.Command, body: JSONValue, at: Timestamp
    ) -> String? {
        do {
            let decoded = try M.command(M.name(of: command), body: body, at: at)
            return decoded == command ? nil : "\(body) decoded to \(decoded), not \(command)"
        } catch {
            return "\(body) refused: \(error)"
        }
    }

    static let lodgementBody: [String: JSONValue] = [
        "channel": "walk_in", "category": "payment_delay", "description": "late", "area": "D-01",
        "office": "OFF-001", "anonymous": true, "contact_preference": "none", "sensitive": false,
    ]

    static func appealBody(_ subject: [String: JSONValue]) -> [String: JSONValue] {
        let base: [String: JSONValue] = [
            "grounds": "g", "programme": "CCT", "area": "D-01", "office": "OFF-001", "anonymous": true,
            "contact_preference": "in_person",
        ]
        return base.merging(subject) { _, new in new }
    }
}
