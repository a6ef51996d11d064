import ConcordCore

/// A status update on a referral's Task from the receiver's system, and the referral commands it stands for
/// (docs/api.md, "Referrals in FHIR"). Only `status`, `statusReason` and `output` are read; the rest of the Task is
/// Concord's and stays as it is.
public struct FHIRTaskUpdate: Sendable, Hashable {
    public var status: String
    /// `statusReason.coding[0].code` and `statusReason.text`.
    public var reasonCode: String?
    public var reasonText: String?
    /// Each `output`'s `valueString` (or `valueCodeableConcept.text`): the services given.
    public var outputs: [String]

    public init(status: String, reasonCode: String? = nil, reasonText: String? = nil, outputs: [String] = []) {
        self.status = status
        self.reasonCode = reasonCode
        self.reasonText = reasonText
        self.outputs = outputs
    }

    /// The statuses a receiver sets.
    public static let receiverStatuses = ["received", "accepted", "rejected", "in-progress", "completed", "failed"]

    /// Reads a Task (PUT, or a partial Task for PATCH) or a JSON Patch of `/status`, `/statusReason`, `/output`.
    public static func read(_ body: JSONValue) throws(CommandRequestError) -> FHIRTaskUpdate {
        var members = JSONObject()
        switch body {
        case .object(let object): members = object
        case .array(let operations):
            for operation in operations {
                guard let op = operation["op"]?.stringValue, ["replace", "add"].contains(op),
                    let path = operation["path"]?.stringValue, let value = operation["value"]
                else {
                    throw CommandRequestError(problems: [
                        FieldProblem(field: "op", reason: "only replace and add of /status, /statusReason, /output")
                    ])
                }
                _ = members.updateValue(value, forKey: String(path.dropFirst()))
            }
        default:
            throw CommandRequestError(problems: [FieldProblem(field: "", reason: "the body must be a Task")])
        }
        var problems: [FieldProblem] = []
        if let type = members["resourceType"], type != "Task" {
            problems.append(FieldProblem(field: "resourceType", reason: "must be Task"))
        }
        guard let status = members["status"]?.stringValue else {
            throw CommandRequestError(problems: problems + [FieldProblem(field: "status", reason: "is required")])
        }
        var update = FHIRTaskUpdate(status: status)
        if let reason = members["statusReason"] {
            update.reasonCode = reason["coding"].flatMap { coding in
                if case .array(let codings) = coding { codings.first?["code"]?.stringValue } else { nil }
            }
            update.reasonText = reason["text"]?.stringValue
        }
        if case .array(let outputs)? = members["output"] {
            update.outputs = outputs.compactMap {
                $0["valueString"]?.stringValue ?? $0["valueCodeableConcept"]?["text"]?.stringValue
            }
        }
        if !problems.isEmpty { throw CommandRequestError(problems: problems) }
        return update
    }

    /// The referral commands, in order, that take the referral from `state` to the status asked for; none when it
    /// is there already. Each is checked against the state table and the fields here (so that a bad update changes
    /// nothing), and again by the command pipeline that runs it.
    public func commands(from state: Referral.State, at: Timestamp) throws -> [Referral.Command] {
        let current = FHIRReferral.taskStatus(state)
        var commands: [Referral.Command]
        let acknowledgeFirst: [Referral.Command] = state.status == .created ? [.acknowledge(at: at)] : []
        switch self.status {
        case current where !(current == "completed" && state.feedback == nil && !self.outputs.isEmpty):
            return []
        case "received": commands = [.acknowledge(at: at)]
        case "accepted": commands = acknowledgeFirst + [.accept(at: at)]
        case "rejected":
            guard self.reasonCode != nil || self.reasonText != nil else {
                throw CommandRequestError(problems: [
                    FieldProblem(field: "statusReason", reason: "is required: say why the referral is rejected")
                ])
            }
            let reason = self.reasonCode.flatMap(Referral.DeclineReason.init(rawValue:)) ?? .other
            commands = acknowledgeFirst + [.decline(reason: reason, explanation: self.reasonText, at: at)]
        case "in-progress": commands = [.startService(at: at)]
        case "completed":
            commands = state.status == .completed ? [] : [.complete(outcome: .delivered, at: at)]
            if !self.outputs.isEmpty {
                let feedback = Referral.CounterReferral(
                    outcome: self.reasonText ?? "Service delivered", servicesGiven: self.outputs)
                commands.append(.postFeedback(feedback, at: at))
            }
        case "failed":
            let reason = self.reasonCode.flatMap(Referral.NotDeliveredReason.init(rawValue:)) ?? .other
            commands = [.complete(outcome: .notDelivered(reason: reason, details: self.reasonText), at: at)]
        default:
            throw CommandRequestError(problems: [
                FieldProblem(
                    field: "status",
                    reason: "a receiver sets \(Self.receiverStatuses.joined(separator: ", ")); not \(self.status)")
            ])
        }
        // A dry run on the state as loaded: the first refusal, before anything is sent.
        var trial: Referral.State? = state
        for command in commands {
            for event in try Referral.decide(command, state: trial).get() { trial = Referral.evolve(trial, event) }
        }
        return commands
    }
}
