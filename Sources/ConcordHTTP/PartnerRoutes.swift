import ConcordCore
import ConcordPartners
import ConcordStore
import Hummingbird
import Logging

/// The routes partner systems use beside the case API: webhook subscriptions (admin), the event stream and the
/// FHIR view of referrals.
func addPartnerRoutes(
    _ context: AppContext, users: UserStore, logger: Logger, to router: Router<ConcordRequestContext>
) {
    let disclosure = CaseDisclosure(store: context.store, vault: context.vault, reference: context.reference.data)
    WebhookController(
        webhooks: WebhookStore(client: context.client, logger: logger), reference: context.reference,
        settings: context.webhooks
    ).addRoutes(to: router)
    EventStreamController(
        store: context.store, disclosure: disclosure, reference: context.reference,
        heartbeat: context.webhooks.eventStreamHeartbeat
    ).addRoutes(to: router)
    FHIRController(
        commands: CaseCommands<Referral>(
            store: context.store, vault: context.vault, reference: context.reference.data, users: users),
        reference: context.reference, client: context.client, clock: context.clock, logger: logger
    ).addRoutes(to: router)
}

/// The dispatcher of the webhooks, sending while `isLeader` (the projection lease) holds.
func webhookDispatcher(
    _ context: AppContext, logger: Logger, isLeader: @escaping @Sendable () -> Bool
) -> WebhookDispatcher {
    WebhookDispatcher(
        store: context.store, webhooks: WebhookStore(client: context.client, logger: logger),
        disclosure: CaseDisclosure(store: context.store, vault: context.vault, reference: context.reference.data),
        settings: context.webhooks, logger: logger, isLeader: isLeader)
}
