extension CaseKind {
    /// A sensitive case as its lodging office sees it (`AccessPolicy.Reading.redacted`): enough to tell the person
    /// the outcome and close the loop, nothing of what the case says or who it is about. `kind`, `status`,
    /// `sensitive`, `outcome` (a complaint's redress outcome, an appeal's decision), `loop_closed`, `next_step` (the
    /// plain sentence the tracking page shows) and `allowed_commands` (those of `AccessPolicy.redactedCommands` the
    /// case allows now).
    public static func redactedView(_ state: State, id: String, catalog: ReferenceCatalog) -> JSONValue {
        let summary = Self.summary(state, id: id, catalog: catalog)
        let allowed = Self.allowedCommands(in: state).map(\.rawValue).filter {
            AccessPolicy.redactedCommands.contains($0)
        }
        return View.merged(
            Payload.object([
                "kind": Self.streamType, "status": Self.stateName(state), "sensitive": Self.parties(state).sensitive,
                "allowed_commands": allowed, "outcome": summary.outcome, "loop_closed": summary.loopClosedAt != nil,
            ]),
            Payload.object(["next_step": Self.trackingView(state)["next_step"]?.stringValue]))
    }
}
