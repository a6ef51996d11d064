import ConcordCore
import Testing

@Suite struct AppealTests {
    typealias A = Appeal

    @Test func fullLifeFromLodgedToClosed() throws {
        let (state, events) = try A.run([
            .lodge(Fixture.appeal()),
            .assign(level: .district, reviewer: nil, at: Fixture.time(10)),
            .assign(level: .province, reviewer: "reviewer-7", at: Fixture.time(20)),
            .decide(decision: .overturned, reasoning: "The score used outdated data.", at: Fixture.time(30)),
            .notifyAppellant(method: .inPerson, at: Fixture.time(40)),
            .close(at: Fixture.time(50)),
        ])
        #expect(
            events.map(\.eventType) == [
                "AppealLodged", "AppealAssigned", "AppealAssigned", "AppealDecided", "AppellantNotified",
                "AppealClosed",
            ])
        let closed = try #require(state)
        #expect(closed.status == .closed && closed.subject == .complaintOutcome(complaintID: "c-0001"))
        #expect(closed.reviewLevel == .province && closed.reviewer == "reviewer-7" && closed.decision == .overturned)
        #expect(closed.anonymous && closed.notifiedAt == Fixture.time(40) && closed.closedAt == Fixture.time(50))
        // Written out member by member from the lodgement's first state, which only copies the lodgement.
        var expected = try #require(A.evolve(nil, .lodged(Fixture.appeal())))
        expected.status = .closed
        expected.subject = .complaintOutcome(complaintID: "c-0001")
        expected.programme = "CCT"
        expected.area = "D-01"
        expected.office = "OFF-001"
        expected.anonymous = true
        expected.contactPreference = .inPerson
        expected.reviewLevel = .province
        expected.reviewer = "reviewer-7"
        expected.decision = .overturned
        expected.notificationMethod = .inPerson
        expected.lodgedAt = Fixture.time(0)
        expected.assignedAt = Fixture.time(20)
        expected.decidedAt = Fixture.time(30)
        expected.notifiedAt = Fixture.time(40)
        expected.closedAt = Fixture.time(50)
        expected.updatedAt = Fixture.time(50)
        #expect(closed == expected)
        #expect(A.replay(try events.map { try $0.roundTripped() }) == expected)
    }

    @Test func refusalsNameTheStateAndTheAllowedCommands() throws {
        let lodged = try A.run([.lodge(Fixture.appeal())]).state
        let early = try #require(
            A.rejection(.decide(decision: .upheld, reasoning: "x", at: Fixture.time(1)), in: lodged))
        #expect(
            early.currentState == "lodged"
                && early.allowedCommands == ["acknowledge", "assign", "add_note", "withdraw"] && early.field == nil)

        let decided = try A.run(
            [
                .assign(level: .national, reviewer: nil, at: Fixture.time(1)),
                .decide(decision: .upheld, reasoning: "Rules applied correctly.", at: Fixture.time(2)),
            ], from: lodged
        ).state
        let close = try #require(A.rejection(.close(at: Fixture.time(3)), in: decided))
        #expect(close.currentState == "decided" && close.allowedCommands == ["notify_appellant", "add_note"])
    }

    @Test func badInputIsRefusedNamingTheField() throws {
        var lodgement = Fixture.appeal(subject: .complaintOutcome(complaintID: ""))
        #expect(A.rejection(.lodge(lodgement), in: nil)?.field == "complaint_id")
        lodgement = Fixture.appeal(subject: .eligibilityDecision)
        lodgement.grounds = " "
        #expect(A.rejection(.lodge(lodgement), in: nil)?.field == "grounds")
        let assigned = try A.run([
            .lodge(Fixture.appeal()), .assign(level: .district, reviewer: nil, at: Fixture.time(1)),
        ]).state
        #expect(
            A.rejection(.assign(level: .district, reviewer: nil, at: Fixture.time(2)), in: assigned)?.field
                == "review_level")
        #expect(
            A.rejection(.decide(decision: .upheld, reasoning: "", at: Fixture.time(2)), in: assigned)?.field
                == "reasoning")
    }

    @Test func lodgedPayloadNamesWhatIsAppealed() throws {
        let identified = Appeal.Lodgement(
            subject: .suspensionDecision, grounds: "Suspended by mistake.", programme: "SP", area: "D-02",
            office: "OFF-002", appellant: .person(PersonDetails(name: "Jean", address: "Rue 5")),
            contactPreference: .letter, at: Fixture.time(0))
        let event = try #require(try A.run([.lodge(identified)]).events.first)
        #expect(
            event.payload == [
                "against": "suspension", "grounds": "Suspended by mistake.", "programme": "SP", "area": "D-02",
                "office": "OFF-002", "anonymous": false, "contact_preference": "letter",
                "at": .string(Fixture.time(0).rfc3339), "appellant": ["name": "Jean", "address": "Rue 5"],
            ])
        #expect(try event.roundTripped() == event)
        let onComplaint = try #require(try A.run([.lodge(Fixture.appeal())]).events.first)
        #expect(
            onComplaint.payload["against"] == "complaint_outcome" && onComplaint.payload["complaint_id"] == "c-0001")
        #expect(try onComplaint.roundTripped() == onComplaint)
    }
}
