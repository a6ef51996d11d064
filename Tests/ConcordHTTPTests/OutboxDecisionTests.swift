import ConcordCore
import ConcordOutbox
import Testing

/// Which messages an event calls for (`OutboxDecision`, pure), and the SMS grammar.
@Suite struct OutboxDecisionTests {
    static let at = Timestamp(microsecondsSinceEpoch: 1_790_000_000_000_000)

    static func lodgement(anonymous: Bool = false, contact: ContactPreference = .sms) -> Complaint.Lodgement {
        Complaint.Lodgement(
            channel: .walkIn, programme: "CCT", category: .paymentDelay, description: "Late.", area: "D-01",
            office: "OFF-001", complainant: anonymous ? .anonymous : .person(PersonDetails(phone: "+221770000000")),
            contactPreference: contact, at: Self.at)
    }

    static func decide(
        _ events: [Complaint.Event], contacts: Set<String> = ["CCT", "P-01"]
    ) -> [OutboxMessage] {
        let decision = OutboxDecision(language: "fr", contacts: contacts)
        guard let state = Complaint.replay(events), let last = events.last else { return [] }
        return decision.messages(
            after: last, state: state, id: "C-7K3Q-9D3", version: Int64(events.count), catalog: ReferenceCatalog())
    }

    @Test func aComplainantReachableByPhoneIsAcknowledgedAndToldTheOutcome() {
        let lodged = Self.decide([.lodged(Self.lodgement())])
        #expect(lodged.map(\.id) == ["complaint/C-7K3Q-9D3/acknowledgement"])
        #expect(lodged.first?.recipient == "complainant" && lodged.first?.params["code"] == "C-7K3Q-9D3")
        let text = lodged.first.map(OutboxDecision.text(of:)) ?? ""
        #expect(text.contains("Code de suivi C-7K3Q-9D3"), "\(text)")
        let resolved = Self.decide([
            .lodged(Self.lodgement()), .acknowledged(at: Self.at),
            .assigned(programme: "CCT", officer: nil, at: Self.at),
            .resolved(outcome: .partlyUpheld, actionsTaken: "Paid half.", at: Self.at),
        ])
        #expect(resolved.map(\.id) == ["complaint/C-7K3Q-9D3/outcome/4"])
        #expect(resolved.first.map(OutboxDecision.text(of:))?.contains("partiellement fondée") == true)
        // Deliveries call for nothing.
        let delivery = Delivery(
            message: "m", purpose: .acknowledgement, outcome: .sent, gateway: "twilio", recipient: "complainant",
            at: Self.at)
        #expect(Self.decide([.lodged(Self.lodgement()), .delivery(delivery)]).isEmpty)
    }

    @Test func nobodyIsMessagedWhoCannotOrDidNotAskToBe() {
        #expect(Self.decide([.lodged(Self.lodgement(anonymous: true, contact: .none))]).isEmpty)
        #expect(Self.decide([.lodged(Self.lodgement(contact: .letter))]).isEmpty)
    }

    @Test func anOverdueEscalationAlertsTheProgrammeAndTheAreaThatHaveANumber() {
        let events: [Complaint.Event] = [
            .lodged(Self.lodgement()), .acknowledged(at: Self.at),
            .escalatedForOverdue(
                fromArea: "D-01", toArea: "P-01", level: 1, step: .resolve, dueAt: Self.at, at: Self.at),
        ]
        let alerts = Self.decide(events)
        #expect(Set(alerts.map(\.recipient)) == ["programme:CCT", "area:P-01"])
        #expect(alerts.allSatisfy { $0.purpose == "overdue_alert" && $0.params["area"] == "P-01" })
        #expect(Self.decide(events, contacts: ["P-01"]).map(\.recipient) == ["area:P-01"])
        #expect(Self.decide(events, contacts: []).isEmpty)
    }

    @Test func theGrammarReadsStatusQuestionsInSeveralLanguages() {
        #expect(SMSRequest.parse("STATUS c-7k3q-9d3") == .status(code: "C-7K3Q-9D3", language: "en"))
        #expect(SMSRequest.parse("  statut C-7K3Q-9D3\n") == .status(code: "C-7K3Q-9D3", language: "fr"))
        #expect(SMSRequest.parse("Hali C-7K3Q-9D3") == .status(code: "C-7K3Q-9D3", language: "sw"))
        #expect(
            SMSRequest.parse("Status of my payment is unknown") == .complaint(text: "Status of my payment is unknown"))
        #expect(SMSRequest.parse("   ") == .empty)
    }
}
