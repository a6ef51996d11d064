import ArgumentParser
import ConcordCore

@main
struct Concord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Concord: grievance and referral tracking on an event log.",
        version: BuildInfo.version,
        subcommands: [
            Serve.self, Migrate.self, Projections.self, Bench.self, Audit.self, Token.self, Reference.self,
            Subject.self, UserCommand.self,
            WebhookCommand.self,
        ])
}
