import ConcordCore
import Testing

@Suite struct ViewTests {
    /// Every key a tracking view of any kind may hold.
    static let trackingKeys: Set<String> = [
        "kind", "status", "lodged_at", "created_at", "acknowledged_at", "resolved_at", "decided_at", "completed_at",
        "closed_at", "next_step",
    ]

    @Test func aComplaintViewShowsWhatTheOfficeNeeds() throws {
        let (state, _) = try Complaint.run([
            .lodge(Fixture.complaint(category: .staffConduct, programme: "CCT")), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: "OF-7", at: Fixture.time(2)),
            .escalate(toArea: "P-01", reason: "overdue", at: Fixture.time(3)),
            .resolve(outcome: .upheld, actionsTaken: "paid", at: Fixture.time(4)),
        ])
        let view = try #require(state.map(Complaint.view))
        #expect(view["kind"] == "complaint" && view["status"] == "resolved")
        #expect(view["allowed_commands"] == ["escalate", "add_note", "notify_complainant", "reopen"])
        #expect(view["programme"] == "CCT" && view["officer"] == "OF-7" && view["office"] == "OFF-001")
        #expect(view["area"] == "P-01" && view["lodging_area"] == "D-01" && view["escalation_level"] == 1)
        #expect(view["category"] == "staff_conduct" && view["sensitive"] == true && view["channel"] == "walk_in")
        #expect(view["redress_outcome"] == "upheld" && view["loop_closed"] == false)
        #expect(view["resolved_at"] == .string(Fixture.time(4).rfc3339))
        #expect(view["lodged_at"] == .string(Fixture.time(0).rfc3339) && view["closed_at"] == nil)
    }

    @Test func aComplaintTrackingViewTellsTheComplainantOnlyTheStatus() throws {
        let (state, _) = try Complaint.run([
            .lodge(Fixture.complaint()), .acknowledge(at: Fixture.time(1)),
            .assign(programme: "CCT", officer: "OF-7", at: Fixture.time(2)),
        ])
        let view = try #require(state.map(Complaint.trackingView))
        #expect(
            view == [
                "kind": "complaint", "status": "assigned", "lodged_at": .string(Fixture.time(0).rfc3339),
                "acknowledged_at": .string(Fixture.time(1).rfc3339),
                "next_step": "The programme is looking into your complaint.",
            ])
    }

    @Test func viewsHoldNoPersonalData() throws {
        let (complaint, _) = try Complaint.run([.lodge(Fixture.complaint())])
        let (appeal, _) = try Appeal.run([
            .lodge(Fixture.appeal(subject: .amountDecision))
        ])
        var lodgement = Fixture.appeal()
        lodgement.appellant = .person(Fixture.amina)
        let (identified, _) = try Appeal.run([.lodge(lodgement)])
        let (referral, _) = try Referral.run([.create(Fixture.referral())])
        let views: [JSONValue] = [
            complaint.map(Complaint.view), complaint.map(Complaint.trackingView), appeal.map(Appeal.view),
            identified.map(Appeal.view), referral.map(Referral.view), referral.map(Referral.trackingView),
        ].compactMap { $0 }
        #expect(views.count == 6)
        let personal = ["Amina Diallo", "+221 77 000 00 00", "SN-123", "HH-42", "5", "members"]
        for view in views {
            let strings = Self.strings(in: view)
            #expect(personal.allSatisfy { !strings.contains($0) }, "\(view)")
            #expect(view["person"] == nil && view["complainant"] == nil && view["appellant"] == nil)
        }
    }

    @Test func complaintViewsOverRandomWalks() {
        let steps = RandomWalk<Complaint>.steps(seed: 3, walks: 300, command: RandomCommand.complaint)
        let failures = steps.compactMap { step in
            Self.check(Complaint.self, step.state, codes: [step.state.office, step.state.area, step.state.programme])
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map(\.state.status)) == Set(Complaint.Status.allCases))
    }

    @Test func appealViewsOverRandomWalks() {
        let steps = RandomWalk<Appeal>.steps(seed: 5, walks: 200, command: RandomCommand.appeal)
        let failures = steps.compactMap { step in
            Self.check(Appeal.self, step.state, codes: [step.state.office, step.state.area, step.state.programme])
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map(\.state.status)) == Set(Appeal.Status.allCases))
    }

    @Test func referralViewsOverRandomWalks() {
        let steps = RandomWalk<Referral>.steps(seed: 9, walks: 300, command: RandomCommand.referral)
        let failures = steps.compactMap { step in
            Self.check(Referral.self, step.state, codes: [step.state.source, step.state.receiver])
        }
        let failuresCount = failures.count
        #expect(failuresCount == 0, "\(failures.prefix(5))")
        #expect(Set(steps.map(\.state.status)) == Set(Referral.Status.allCases))
    }

    /// Nil when both views of `state` keep their promises: the tracking view holds only its allowed keys, all
    /// strings, none of them an office, area or programme code; `_at` members are times; the header is right.
    static func check<M: StateViews>(_ machine: M.Type, _ state: M.State, codes: [String?]) -> String? {
        let tracking = M.trackingView(state).members
        let view = M.view(state)
        let status = M.stateName(state)
        guard Set(tracking.keys).isSubset(of: M.trackingViewKeys), M.trackingViewKeys.isSubset(of: Self.trackingKeys)
        else { return "tracking keys \(tracking.keys.sorted())" }
        guard tracking.values.allSatisfy({ $0.stringValue != nil }),
            codes.allSatisfy({ code in
                code.map { code in !tracking.values.contains(.string(code)) } ?? true
            })
        else { return "tracking values \(tracking)" }
        guard tracking["kind"] == .string(M.streamType), tracking["status"] == .string(status),
            (tracking["next_step"]?.stringValue?.count ?? 0) > 10
        else { return "tracking header \(tracking)" }
        let documented = StateTable.allowed(M.self, in: state).map { JSONValue.array($0.map(JSONValue.string)) }
        guard view["kind"] == .string(M.streamType), view["status"] == .string(status),
            view["allowed_commands"] == documented
        else { return "view header \(view)" }
        let times = (view.members.merging(tracking) { first, _ in first }).filter { $0.key.hasSuffix("_at") }
        guard times.values.allSatisfy({ $0.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil }) else {
            return "times \(times)"
        }
        return nil
    }

    /// Every string in `value`, keys included.
    static func strings(in value: JSONValue) -> Set<String> {
        switch value {
        case .string(let text): [text]
        case .array(let items): items.reduce(into: []) { $0.formUnion(Self.strings(in: $1)) }
        case .object(let members):
            members.reduce(into: Set(members.keys)) { $0.formUnion(Self.strings(in: $1.value)) }
        case .null, .bool, .integer: []
        }
    }
}
