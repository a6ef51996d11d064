import ConcordCore
import ConcordStore
import Foundation

/// A deterministic pseudo-random generator (SplitMix64, the core's): the same seed gives the same workload.
public typealias SeededRandom = SeededGenerator

extension SeededGenerator {
    public init(seed: UInt64) { self.init(state: seed) }
}

/// Random but legal workloads: a small country's reference data, and cases of every kind walked through random
/// commands that their state allows (every command of every kind occurs). Events come from the domain's `decide`,
/// so they are exactly what the service would store.
public enum Workload {
    /// Areas (a country, 2 provinces, 4 districts, 8 communities), 4 programmes (CCT escalates overdue
    /// complaints), a service type and 4 offices.
    public static func reference(at: Timestamp) -> [ReferenceEvent] {
        var events: [ReferenceEvent] = [
            .areaDefined(Area(code: "TM", name: "Tamora", level: .country, parent: nil), at: at)
        ]
        for province in 1...2 {
            let p = "P-\(province)"
            events.append(
                .areaDefined(Area(code: p, name: "Province \(province)", level: .province, parent: "TM"), at: at))
            for district in 1...2 {
                let d = "D-\(province)\(district)"
                events.append(.areaDefined(Area(code: d, name: "District \(d)", level: .district, parent: p), at: at))
                for community in 1...2 {
                    let c = "C-\(province)\(district)\(community)"
                    events.append(
                        .areaDefined(Area(code: c, name: "Community \(c)", level: .community, parent: d), at: at))
                }
            }
        }
        for (index, code) in Self.programmes.enumerated() {
            let level = ServiceLevel(
                daysToAcknowledge: 2 + index, daysToResolve: 10 + 5 * index, daysToGiveFeedback: 7 + index)
            let levels = Dictionary(uniqueKeysWithValues: Complaint.Category.allCases.map { ($0, level) })
            events.append(
                .programmeDefined(
                    Programme(
                        code: code, name: "Programme \(code)", agency: "Ministry", contributory: index == 2,
                        serviceLevels: levels, appealWindowDays: 30, escalatesWhenOverdue: code == "CCT"), at: at))
        }
        events.append(
            .serviceTypeDefined(ServiceType(code: "NUTRITION", name: "Nutrition", programme: "HEALTH"), at: at))
        for (index, code) in Self.offices.enumerated() {
            events.append(
                .officeDefined(
                    Office(code: code, name: "Office \(code)", area: Self.communities[index * 2], mobile: index == 3),
                    at: at))
        }
        return events
    }

    public static let programmes = ["CCT", "PENSION", "HEALTH", "PWP"]
    public static let offices = ["OFF-1", "OFF-2", "OFF-3", "OFF-4"]
    public static let communities = ["C-111", "C-112", "C-121", "C-122", "C-211", "C-212", "C-221", "C-222"]

    /// Appends the reference data (once: an existing record is left as it is).
    public static func appendReference(to store: EventStore, at: Timestamp) async throws {
        for event in Self.reference(at: at) {
            do {
                _ = try await store.append(to: event.stream, expectedVersion: .noStream, events: [event.eventData()])
            } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                continue
            }
        }
    }
}

/// One case walking through random commands, one step at a time.
public struct CaseWalk: Sendable {
    public enum Kind: Sendable, CaseIterable { case complaint, appeal, referral }

    public let kind: Kind
    public let id: String
    var complaint: Complaint.State?
    var appeal: Appeal.State?
    var referral: Referral.State?
    public private(set) var version: Int64 = 0
    public private(set) var finished = false
    var time: Timestamp

    public init(kind: Kind, id: String, start: Timestamp) {
        self.kind = kind
        self.id = id
        self.time = start
    }

    public var stream: StreamName {
        switch self.kind {
        case .complaint: StreamName(type: Complaint.streamType, id: self.id)
        case .appeal: StreamName(type: Appeal.streamType, id: self.id)
        case .referral: StreamName(type: Referral.streamType, id: self.id)
        }
    }

    /// The events of the next accepted random command (nil when the case can go no further or stops here).
    public mutating func step(_ rng: inout SeededRandom) -> [EventData]? {
        guard !self.finished else { return nil }
        self.time = Timestamp(
            microsecondsSinceEpoch: self.time.microsecondsSinceEpoch + Int64.random(in: 60...86_400 * 4, using: &rng)
                * 1_000_000)
        // Some cases stop early, so that queues and open loops have something in them.
        if self.version > 0, Int.random(in: 0..<12, using: &rng) == 0 {
            self.finished = true
            return nil
        }
        for _ in 0..<6 {
            let (id, time) = (self.id, self.time)
            let (events, stuck): ([EventData]?, Bool)
            switch self.kind {
            case .complaint:
                (events, stuck) = Self.decide(Complaint.self, &self.complaint, id, time, &rng, Generate.complaint)
            case .appeal: (events, stuck) = Self.decide(Appeal.self, &self.appeal, id, time, &rng, Generate.appeal)
            case .referral:
                (events, stuck) = Self.decide(Referral.self, &self.referral, id, time, &rng, Generate.referral)
            }
            if let events {
                self.version += Int64(events.count)
                return events
            }
            if stuck { break }
        }
        self.finished = true
        return nil
    }

    /// Every remaining step at once: the whole life of the case.
    public mutating func life(_ rng: inout SeededRandom) -> [EventData] {
        var events: [EventData] = []
        while let next = self.step(&rng) { events += next }
        return events
    }

    /// The events of one random allowed command, or nil (and whether no command is allowed at all).
    private static func decide<M: StateMachine>(
        _ machine: M.Type, _ state: inout M.State?, _ id: String, _ time: Timestamp, _ rng: inout SeededRandom,
        _ make: (M.CommandName, M.State?, String, Timestamp, inout SeededRandom) -> M.Command?
    ) -> (events: [EventData]?, stuck: Bool) {
        guard let name = M.allowedCommands(in: state).randomElement(using: &rng) else { return (nil, true) }
        guard let command = make(name, state, id, time, &rng),
            case .success(let events) = M.decide(command, state: state)
        else { return (nil, false) }
        state = events.reduce(state, M.evolve)
        return (events.map { $0.eventData(metadata: EventMetadata(actor: "workload", role: "admin")) }, false)
    }
}

/// Random commands with values the reference data of `Workload.reference` knows.
enum Generate {
    static let person = Identity.person(PersonDetails(name: "Test Person", phone: "+255700000000"))

    static func complaint(
        _ name: Complaint.CommandName, _ state: Complaint.State?, _ id: String, _ at: Timestamp,
        _ rng: inout SeededRandom
    ) -> Complaint.Command? {
        let programme = Workload.programmes.randomElement(using: &rng) ?? "CCT"
        switch name {
        case .lodge:
            let office = Int.random(in: 0..<Workload.offices.count, using: &rng)
            return .lodge(
                Complaint.Lodgement(
                    channel: Complaint.Channel.allCases.randomElement(using: &rng) ?? .walkIn,
                    programme: Int.random(in: 0..<8, using: &rng) == 0 ? nil : programme,
                    category: Complaint.Category.allCases.randomElement(using: &rng) ?? .other,
                    description: "Generated complaint", area: Workload.communities[office * 2],
                    office: Workload.offices[office], complainant: Self.person, contactPreference: .phone, at: at))
        case .acknowledge: return .acknowledge(at: at)
        case .assign: return .assign(programme: state?.programme ?? programme, officer: nil, at: at)
        case .transfer:
            return programme == state?.programme
                ? nil : .transfer(toProgramme: programme, reason: "Belongs there", at: at)
        case .escalate:
            guard let area = state?.area, let parent = Self.parent(of: area) else { return nil }
            return .escalate(toArea: parent, reason: "Needs a higher level", at: at)
        case .addNote: return .addNote(text: "A note", at: at)
        case .recordFinding: return .recordFinding(text: "A finding", at: at)
        case .resolve:
            return .resolve(
                outcome: Complaint.RedressOutcome.allCases.randomElement(using: &rng) ?? .upheld, actionsTaken: "Paid",
                at: at)
        case .notifyComplainant: return .notifyComplainant(method: .phone, at: at)
        case .close: return .close(satisfaction: Bool.random(using: &rng) ? .satisfied : .notSatisfied, at: at)
        case .reopen: return .reopen(reason: "Not satisfied", withinAppealWindow: true, at: at)
        case .withdraw: return .withdraw(reason: nil, at: at)
        case .rejectOutOfScope: return .rejectOutOfScope(redirectTo: "NUTRITION", reason: nil, at: at)
        }
    }

    static func appeal(
        _ name: Appeal.CommandName, _ state: Appeal.State?, _ id: String, _ at: Timestamp, _ rng: inout SeededRandom
    ) -> Appeal.Command? {
        switch name {
        case .lodge:
            let office = Int.random(in: 0..<Workload.offices.count, using: &rng)
            return .lodge(
                Appeal.Lodgement(
                    subject: [.eligibilityDecision, .amountDecision, .suspensionDecision].randomElement(using: &rng)
                        ?? .amountDecision, grounds: "Wrongly scored",
                    programme: Workload.programmes.randomElement(using: &rng) ?? "CCT",
                    area: Workload.communities[office * 2], office: Workload.offices[office], appellant: Self.person,
                    contactPreference: .phone, at: at))
        case .assign:
            return .assign(
                level: Appeal.ReviewLevel.allCases.randomElement(using: &rng) ?? .district, reviewer: nil, at: at)
        case .decide:
            return .decide(
                decision: Appeal.Decision.allCases.randomElement(using: &rng) ?? .upheld, reasoning: "Reviewed", at: at)
        case .notifyAppellant: return .notifyAppellant(method: .phone, at: at)
        case .close: return .close(at: at)
        case .acknowledge: return .acknowledge(at: at)
        case .addNote: return .addNote(text: "A note", at: at)
        // Rarely: most appeals in a workload go on to a decision.
        case .withdraw: return Int.random(in: 0..<4, using: &rng) == 0 ? .withdraw(reason: nil, at: at) : nil
        }
    }

    static func referral(
        _ name: Referral.CommandName, _ state: Referral.State?, _ id: String, _ at: Timestamp,
        _ rng: inout SeededRandom
    ) -> Referral.Command? {
        switch name {
        case .create:
            let sources = Workload.offices + ["CCT", "PWP"]
            return .create(
                Referral.Request(
                    source: sources.randomElement(using: &rng) ?? "CCT",
                    receiver: ["HEALTH", "PENSION", "NUTRITION"].randomElement(using: &rng) ?? "HEALTH",
                    person: .clear(Referral.ReferredPerson(kind: .household, reference: "HH-1")), reason: "Needs care",
                    urgency: Referral.Urgency.allCases.randomElement(using: &rng) ?? .routine, referralType: "health",
                    at: at))
        case .acknowledge: return .acknowledge(at: at)
        case .accept: return .accept(at: at)
        case .decline:
            return .decline(
                reason: Referral.DeclineReason.allCases.filter { $0 != .other }.randomElement(using: &rng)
                    ?? .duplicate, explanation: nil, at: at)
        case .redirect: return .redirect(newReferralID: id + "-R", newReceiver: "PENSION", at: at)
        case .startService: return .startService(at: at)
        case .complete:
            return .complete(
                outcome: Bool.random(using: &rng) ? .delivered : .notDelivered(reason: .clientRefused, details: nil),
                at: at)
        case .postFeedback:
            return .postFeedback(Referral.CounterReferral(outcome: "Served", servicesGiven: ["assessment"]), at: at)
        case .acknowledgeFeedback: return .acknowledgeFeedback(at: at)
        case .cancel: return .cancel(reason: "No longer needed", at: at)
        }
    }

    /// The parent area in `Workload.reference`'s tree: C-abc → D-ab → P-a → TM.
    static func parent(of area: String) -> String? {
        let digits = area.split(separator: "-").last.map(String.init) ?? ""
        switch area.prefix(2) {
        case "C-": return "D-" + digits.prefix(2)
        case "D-": return "P-" + digits.prefix(1)
        case "P-": return "TM"
        default: return nil
        }
    }
}
