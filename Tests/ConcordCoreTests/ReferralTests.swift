import ConcordCore
import Testing

@Suite struct ReferralTests {
    typealias R = Referral

    static let feedback = Referral.CounterReferral(
        outcome: "Assessed and enrolled", servicesGiven: ["nutrition assessment", "supplements"], notes: nil)

    @Test func fullLifeClosesTheLoop() throws {
        let (state, events) = try R.run([
            .create(Fixture.referral()),
            .acknowledge(at: Fixture.time(1)),
            .accept(at: Fixture.time(2)),
            .startService(at: Fixture.time(3)),
            .complete(outcome: .delivered, at: Fixture.time(4)),
            .postFeedback(Self.feedback, at: Fixture.time(5)),
            .acknowledgeFeedback(at: Fixture.time(6)),
        ])
        #expect(
            events.map(\.eventType) == [
                "ReferralCreated", "ReferralAcknowledged", "ReferralAccepted", "ReferralServiceStarted",
                "ReferralCompleted", "CounterReferralPosted", "CounterReferralAcknowledged",
            ])
        let closed = try #require(state)
        #expect(closed.status == .loopClosed && closed.source == "CCT" && closed.receiver == "HEALTH")
        #expect(closed.urgency == .priority && closed.serviceOutcome == .delivered && closed.feedback == Self.feedback)
        #expect(closed.createdAt == Fixture.time(0) && closed.loopClosedAt == Fixture.time(6))
        #expect(R.allowedCommands(in: closed).isEmpty)
        // Written out member by member from the request's first state, which only copies the request.
        var expected = try #require(R.evolve(nil, .created(Fixture.referral())))
        expected.status = .loopClosed
        expected.source = "CCT"
        expected.receiver = "HEALTH"
        expected.urgency = .priority
        expected.referralType = "health"
        expected.redirectedFrom = nil
        expected.redirectedTo = nil
        expected.redirectedToReceiver = nil
        expected.declineReason = nil
        expected.serviceOutcome = .delivered
        expected.feedback = Self.feedback
        expected.createdAt = Fixture.time(0)
        expected.acknowledgedAt = Fixture.time(1)
        expected.acceptedAt = Fixture.time(2)
        expected.declinedAt = nil
        expected.redirectedAt = nil
        expected.serviceStartedAt = Fixture.time(3)
        expected.completedAt = Fixture.time(4)
        expected.feedbackPostedAt = Fixture.time(5)
        expected.loopClosedAt = Fixture.time(6)
        expected.cancelledAt = nil
        expected.updatedAt = Fixture.time(6)
        #expect(closed == expected)
        #expect(R.replay(try events.map { try $0.roundTripped() }) == expected)
    }

    @Test func aDeclinedReferralIsRedirected() throws {
        let (old, events) = try R.run([
            .create(Fixture.referral()),
            .acknowledge(at: Fixture.time(1)),
            .decline(reason: .lackOfCapacity, explanation: nil, at: Fixture.time(2)),
            .redirect(newReferralID: "r-0002", newReceiver: "NGO-9", at: Fixture.time(3)),
        ])
        #expect(old?.status == .redirected && old?.declineReason == .lackOfCapacity)
        #expect(old?.redirectedTo == "r-0002" && old?.redirectedToReceiver == "NGO-9")
        #expect(events.last?.eventType == "ReferralRedirected")
        let new = try R.run([.create(Fixture.referral(redirectedFrom: "r-0001", receiver: "NGO-9"))]).state
        #expect(new?.status == .created && new?.redirectedFrom == "r-0001")
    }

    @Test func refusalsNameTheStateAndTheAllowedCommands() throws {
        let created = try R.run([.create(Fixture.referral())]).state
        let redirect = try #require(
            R.rejection(.redirect(newReferralID: "r-2", newReceiver: "NGO-9", at: Fixture.time(1)), in: created))
        #expect(redirect.currentState == "created" && redirect.allowedCommands == ["acknowledge", "cancel"])
        #expect(redirect.field == nil)

        let completed = try R.run(
            [
                .acknowledge(at: Fixture.time(1)), .accept(at: Fixture.time(2)), .startService(at: Fixture.time(3)),
                .complete(outcome: .delivered, at: Fixture.time(4)),
            ], from: created
        ).state
        let cancel = try #require(R.rejection(.cancel(reason: "No longer needed", at: Fixture.time(5)), in: completed))
        #expect(cancel.currentState == "completed" && cancel.allowedCommands == ["post_feedback"])
    }

    @Test func badInputIsRefusedNamingTheField() throws {
        var request = Fixture.referral(receiver: "CCT")
        #expect(R.rejection(.create(request), in: nil)?.field == "receiver")
        request = Fixture.referral()
        request.person = .clear(Referral.ReferredPerson(kind: .household, reference: "HH-1", formFields: ["": "x"]))
        #expect(R.rejection(.create(request), in: nil)?.field == "person.form_fields")
        // Names at or above U+10000 are refused (the log's keys stay below it); two compositions of é are two names.
        request.person = .clear(
            Referral.ReferredPerson(kind: .household, reference: "HH-1", formFields: ["size\u{1F600}": "x"]))
        #expect(R.rejection(.create(request), in: nil)?.field == "person.form_fields")
        request.person = .clear(
            Referral.ReferredPerson(kind: .household, reference: "HH-1", formFields: ["\u{E9}": "1", "e\u{301}": "2"]))
        #expect(R.rejection(.create(request), in: nil) == nil)
        let acknowledged = try R.run([.create(Fixture.referral()), .acknowledge(at: Fixture.time(1))]).state
        #expect(
            R.rejection(.decline(reason: .other, explanation: nil, at: Fixture.time(2)), in: acknowledged)?.field
                == "explanation")
        let declined = try R.run(
            [.decline(reason: .duplicate, explanation: nil, at: Fixture.time(2))], from: acknowledged
        ).state
        let back = R.rejection(
            .redirect(newReferralID: "r-2", newReceiver: "HEALTH", at: Fixture.time(3)), in: declined)
        #expect(back?.field == "new_receiver" && back?.currentState == "declined")
    }

    @Test func anAcceptedReferralCanEndUndeliveredButNotDelivered() throws {
        let accepted = try R.run([
            .create(Fixture.referral()), .acknowledge(at: Fixture.time(1)), .accept(at: Fixture.time(2)),
        ]).state
        #expect(R.rejection(.complete(outcome: .delivered, at: Fixture.time(3)), in: accepted)?.field == "outcome")
        let outcome = Referral.ServiceOutcome.notDelivered(reason: .unableToContactClient, details: nil)
        let (state, events) = try R.run([.complete(outcome: outcome, at: Fixture.time(3))], from: accepted)
        #expect(state?.status == .completed && state?.serviceOutcome == outcome)
        #expect(
            events.last?.payload == [
                "outcome": "not_delivered", "not_delivered_reason": "unable_to_contact_client",
                "at": .string(Fixture.time(3).rfc3339),
            ])
    }

    @Test func createdPayloadGroupsThePersonWithTheFormFields() throws {
        let event = try #require(try R.run([.create(Fixture.referral())]).events.first)
        #expect(
            event.payload == [
                "source": "CCT", "receiver": "HEALTH", "reason": "Child needs a nutrition assessment.",
                "urgency": "priority", "referral_type": "health", "at": .string(Fixture.time(0).rfc3339),
                "person": ["kind": "household", "reference": "HH-42", "form_fields": ["members": "5"]],
            ])
        #expect(try event.roundTripped() == event)
    }
}
