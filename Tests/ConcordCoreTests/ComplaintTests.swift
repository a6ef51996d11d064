import ConcordCore
import ConcordTestSupport
import Testing

@Suite struct ComplaintTests {
    typealias C = Complaint

    @Test func fullLifeFromLodgedToClosed() throws {
        let (state, events) = try C.run([
            .lodge(Fixture.complaint()),
            .acknowledge(at: Fixture.time(5)),
            .assign(programme: "CCT", officer: "officer-3", at: Fixture.time(10)),
            .escalate(toArea: "P-01", reason: "Overdue at district level", at: Fixture.time(20)),
            .addNote(text: "Called the paying agent.", at: Fixture.time(25)),
            .recordFinding(text: "The payment file omitted the household.", at: Fixture.time(30)),
            .resolve(outcome: .upheld, actionsTaken: "Payment reissued.", at: Fixture.time(40)),
            .notifyComplainant(method: .sms, at: Fixture.time(45)),
            .close(satisfaction: .satisfied, at: Fixture.time(50)),
        ])
        #expect(
            events.map(\.eventType) == [
                "ComplaintLodged", "ComplaintAcknowledged", "ComplaintAssigned", "ComplaintEscalated",
                "ComplaintNoteAdded", "ComplaintFindingRecorded", "ComplaintResolved", "ComplainantNotified",
                "ComplaintClosed",
            ])
        let closed = try #require(state)
        #expect(closed.status == .closed)
        #expect(closed.programme == "CCT" && closed.officer == "officer-3")
        #expect(closed.lodgingArea == "D-01" && closed.area == "P-01" && closed.escalationLevel == 1)
        #expect(closed.redressOutcome == .upheld && closed.satisfaction == .satisfied)
        #expect(closed.noteCount == 1 && closed.findingCount == 1)
        #expect(closed.lodgedAt == Fixture.time(0) && closed.acknowledgedAt == Fixture.time(5))
        #expect(closed.resolvedAt == Fixture.time(40) && closed.notifiedAt == Fixture.time(45))
        #expect(closed.closedAt == Fixture.time(50) && closed.updatedAt == Fixture.time(50))
        #expect(C.allowedCommands(in: closed) == [.addNote, .reopen])
        // The state written out member by member (from the lodgement's first state, which only copies the
        // lodgement): the fold must reach exactly this, live and when the events are read back from their bytes.
        var expected = try #require(C.evolve(nil, .lodged(Fixture.complaint())))
        expected.status = .closed
        expected.channel = .walkIn
        expected.category = .paymentDelay
        expected.sensitive = false
        expected.programme = "CCT"
        expected.officer = "officer-3"
        expected.office = "OFF-001"
        expected.lodgingArea = "D-01"
        expected.area = "P-01"
        expected.escalationLevel = 1
        expected.anonymous = false
        expected.contactPreference = .sms
        expected.redressOutcome = .upheld
        expected.notificationMethod = .sms
        expected.satisfaction = .satisfied
        expected.redirectTo = nil
        expected.appealRequested = false
        expected.transferCount = 0
        expected.reopenCount = 0
        expected.noteCount = 1
        expected.findingCount = 1
        expected.lodgedAt = Fixture.time(0)
        expected.acknowledgedAt = Fixture.time(5)
        expected.assignedAt = Fixture.time(10)
        expected.lastEscalatedAt = Fixture.time(20)
        expected.overdueEscalation = nil
        expected.resolvedAt = Fixture.time(40)
        expected.notifiedAt = Fixture.time(45)
        expected.closedAt = Fixture.time(50)
        expected.lastReopenedAt = nil
        expected.withdrawnAt = nil
        expected.rejectedAt = nil
        expected.updatedAt = Fixture.time(50)
        #expect(closed == expected)
        #expect(C.replay(try events.map { try $0.roundTripped() }) == expected)
    }

    @Test(arguments: Complaint.Category.allCases)
    func sensitiveIsForcedForRiskyCategories(_ category: Complaint.Category) throws {
        let (state, events) = try C.run([
            .lodge(Fixture.complaint(category: category, sensitive: false, programme: "CCT"))
        ])
        let forced: Set<Complaint.Category> = [.sexualExploitationAbuse, .fraudCorruption, .staffConduct]
        #expect(state?.sensitive == forced.contains(category))
        #expect(events.first?.payload["sensitive"] == .bool(forced.contains(category)))
        // The clerk may mark any category sensitive.
        #expect(
            try C.run([.lodge(Fixture.complaint(category: category, sensitive: true, programme: "CCT"))]).state?
                .sensitive == true)
        // Without a programme, a sensitive complaint would have no reader to triage it.
        let orphan = C.rejection(.lodge(Fixture.complaint(category: category, sensitive: true)), in: nil)
        #expect(orphan?.field == "programme")
    }

    @Test func refusalsNameTheStateAndTheAllowedCommands() throws {
        let lodged = try C.run([.lodge(Fixture.complaint())]).state
        let transfer = try #require(
            C.rejection(.transfer(toProgramme: "SP", reason: "x", at: Fixture.time(1)), in: lodged))
        #expect(transfer.command == "transfer" && transfer.currentState == "lodged" && transfer.field == nil)
        #expect(transfer.allowedCommands == ["acknowledge", "escalate", "add_note", "withdraw", "reject_out_of_scope"])

        let none = try #require(C.rejection(.acknowledge(at: Fixture.time(1)), in: nil))
        #expect(none.currentState == "none" && none.allowedCommands == ["lodge"])

        let again = try #require(C.rejection(.lodge(Fixture.complaint()), in: lodged))
        #expect(again.currentState == "lodged" && again.field == nil)

        let withdrawn = try C.run([.withdraw(reason: nil, at: Fixture.time(2))], from: lodged).state
        let reopen = try #require(
            C.rejection(.reopen(reason: "x", withinAppealWindow: true, at: Fixture.time(3)), in: withdrawn))
        #expect(reopen.currentState == "withdrawn" && reopen.allowedCommands.isEmpty)
        #expect(reopen.description.contains("allowed: none"))
    }

    @Test func badInputIsRefusedNamingTheField() throws {
        func field(_ lodgement: Complaint.Lodgement) -> String? { C.rejection(.lodge(lodgement), in: nil)?.field }
        #expect(field(Fixture.complaint(description: "  \n")) == "description")
        #expect(field(Fixture.complaint(programme: "C CT")) == "programme")
        #expect(field(Fixture.complaint(complainant: .person(PersonDetails()))) == "complainant")
        #expect(field(Fixture.complaint(complainant: .person(PersonDetails(name: "")))) == "complainant.name")
        #expect(field(Fixture.complaint(complainant: .anonymous, contact: .phone)) == "contact_preference")
        #expect(field(Fixture.complaint(complainant: .anonymous, contact: .inPerson)) == nil)
        let refused = try #require(C.rejection(.lodge(Fixture.complaint(description: "")), in: nil))
        #expect(
            refused.currentState == "none" && refused.allowedCommands == ["lodge"]
                && refused.reason == "must not be empty")

        let assigned = try C.run([
            .lodge(Fixture.complaint()), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: nil, at: Fixture.time(2)),
        ]).state
        #expect(
            C.rejection(.transfer(toProgramme: "CCT", reason: "x", at: Fixture.time(3)), in: assigned)?.field
                == "to_programme")
        #expect(
            C.rejection(.transfer(toProgramme: "SP", reason: " ", at: Fixture.time(3)), in: assigned)?.field == "reason"
        )
        #expect(
            C.rejection(.escalate(toArea: "D-01", reason: "x", at: Fixture.time(3)), in: assigned)?.field == "to_area")
        #expect(
            C.rejection(.resolve(outcome: .upheld, actionsTaken: "", at: Fixture.time(3)), in: assigned)?.field
                == "actions_taken")
    }

    @Test func transferKeepsTheComplaintAssignedToTheNewProgramme() throws {
        let (state, events) = try C.run([
            .lodge(Fixture.complaint()), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: "officer-3", at: Fixture.time(2)),
            .transfer(toProgramme: "SP", reason: "Social pension matter", at: Fixture.time(3)),
        ])
        #expect(state?.status == .assigned && state?.programme == "SP" && state?.officer == nil)
        #expect(state?.transferCount == 1)
        #expect(events.last?.payload["from_programme"] == "CCT")
    }

    @Test func reopeningAfterANotSatisfiedCloseAsksForAnAppeal() throws {
        let closed = try C.run([
            .lodge(Fixture.complaint()), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: nil, at: Fixture.time(2)),
            .resolve(outcome: .notUpheld, actionsTaken: "Criteria explained.", at: Fixture.time(3)),
            .notifyComplainant(method: .phone, at: Fixture.time(4)),
            .close(satisfaction: .notSatisfied, at: Fixture.time(5)),
        ]).state
        let late = C.rejection(.reopen(reason: "Disagrees", withinAppealWindow: false, at: Fixture.time(6)), in: closed)
        #expect(late?.field == "within_appeal_window" && late?.currentState == "closed")

        let (reopened, events) = try C.run(
            [.reopen(reason: "Disagrees", withinAppealWindow: true, at: Fixture.time(6))], from: closed)
        #expect(events == [.reopened(reason: "Disagrees", opensAppeal: true, at: Fixture.time(6))])
        #expect(reopened?.status == .assigned && reopened?.appealRequested == true && reopened?.reopenCount == 1)
        #expect(reopened?.redressOutcome == nil && reopened?.closedAt == nil && reopened?.satisfaction == nil)
    }

    @Test func reopeningBeforeCloseNeedsNoWindowAndOpensNoAppeal() throws {
        let resolved = try C.run([
            .lodge(Fixture.complaint()), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: nil, at: Fixture.time(2)),
            .resolve(outcome: .partlyUpheld, actionsTaken: "Half paid.", at: Fixture.time(3)),
        ]).state
        let events = try C.run(
            [.reopen(reason: "Finding was wrong", withinAppealWindow: false, at: Fixture.time(4))], from: resolved
        ).events
        #expect(events == [.reopened(reason: "Finding was wrong", opensAppeal: false, at: Fixture.time(4))])
    }

    @Test func outOfScopeRecordsWhereItBelongs() throws {
        let (state, events) = try C.run([
            .lodge(Fixture.complaint()),
            .rejectOutOfScope(redirectTo: "Land registry", reason: nil, at: Fixture.time(1)),
        ])
        #expect(state?.status == .rejectedOutOfScope && state?.redirectTo == "Land registry")
        #expect(events.last?.payload == ["redirect_to": "Land registry", "at": .string(Fixture.time(1).rfc3339)])
    }

    @Test func lodgedPayloadGroupsThePersonalDetails() throws {
        let event = try #require(try C.run([.lodge(Fixture.complaint())]).events.first)
        #expect(event.eventType == "ComplaintLodged" && event.schemaVersion == 1)
        #expect(
            event.payload == [
                "channel": "walk_in", "category": "payment_delay", "description": "The March payment has not arrived.",
                "area": "D-01", "office": "OFF-001", "anonymous": false, "contact_preference": "sms",
                "sensitive": false, "at": .string(Fixture.time(0).rfc3339),
                "complainant": ["name": "Amina Diallo", "phone": "+221 77 000 00 00", "national_id": "SN-123"],
            ])
        #expect(try event.roundTripped() == event)
        let anonymous = try #require(
            try C.run([.lodge(Fixture.complaint(complainant: .anonymous, contact: .none))]).events.first)
        #expect(anonymous.payload["complainant"] == nil && anonymous.payload["anonymous"] == true)
        #expect(try anonymous.roundTripped() == anonymous)
    }

    @Test func decodeRefusesUnknownTypesAndBadPayloads() throws {
        let good = try #require(try C.run([.lodge(Fixture.complaint())]).events.first).payload
        /// The payload error decoding refuses with; a test failure when it decodes or throws anything else.
        func refusal(_ type: String, _ version: Int32, _ payload: JSONValue) throws -> EventPayloadError {
            try #require(throws: EventPayloadError.self) {
                try C.Event.decode(type: type, schemaVersion: version, payload: payload)
            }
        }
        #expect(throws: Never.self) { try C.Event.decode(type: "ComplaintLodged", schemaVersion: 1, payload: good) }
        #expect(
            try refusal("ReferralCreated", 1, good).reason.hasPrefix("is not an event type of a complaint stream"))
        #expect(try refusal("ComplaintLodged", 2, good).reason == "schema version 2 is not supported (known: 1)")
        #expect(try refusal("ComplaintLodged", 1, "text").reason == "must be a JSON object")
        var members = try #require(good.objectMembers)
        members["channel"] = "fax"
        let channel = try refusal("ComplaintLodged", 1, .object(members))
        #expect(channel.field == "channel")
        #expect(channel.description.contains("walk_in, hotline, sms, web, mobile_unit, letter, community_meeting"))
        members["channel"] = "web"
        members["complainant"] = ["phone": 5]
        #expect(try refusal("ComplaintLodged", 1, .object(members)).field == "complainant.phone")
        members["complainant"] = nil
        #expect(try refusal("ComplaintLodged", 1, .object(members)).field == "complainant")
        #expect(try refusal("ComplaintAcknowledged", 1, ["at": "yesterday"]).field == "at")
        #expect(try refusal("ComplaintAcknowledged", 1, [:]).reason == "is missing")
    }
}
