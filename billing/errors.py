"""Billing's domain errors (stable codes the apps switch on)."""

from api.errors import Conflict, DomainError, NotFound, ServiceUnavailable


class BillingUnavailable(Conflict):
    """Billing is switched off (BILLING_ENABLED=False). A 409, not a 503: it is a deliberate state
    of this deployment, not an outage, so clients should not retry in a loop."""

    code = "billing_unavailable"
    default_message = "Payments are not available right now."


class StripeUnavailable(ServiceUnavailable):
    """Stripe could not be reached or answered with a server error: safe to retry."""

    code = "payment_provider_unavailable"
    default_message = "Our payment provider is unavailable. Please try again shortly."


class StripeRequestFailed(DomainError):
    """Stripe refused a request we made (a bug or a configuration problem, not the patient's)."""

    status_code = 502
    code = "payment_provider_error"
    default_message = "Our payment provider refused the request. Please contact the practice."


class UnknownPrice(DomainError):
    code = "unknown_price"
    default_message = "That price is not one of the practice's plans."


class AlreadySubscribed(Conflict):
    code = "already_subscribed"
    default_message = "You already have a membership."


class SubscribeInProgress(Conflict):
    code = "subscribe_in_progress"
    default_message = "Your membership is being set up on another screen. Try again in a moment."


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = "This membership cannot be cancelled in its current state."


class NoBillingAccount(NotFound):
    code = "no_billing_account"
    default_message = "You have no billing account yet."


class InvalidSignature(DomainError):
    code = "invalid_signature"
    default_message = "The webhook signature is missing, invalid or too old."


class SandboxOnly(NotFound):
    """A sandbox route called while the real Stripe (or no billing) is configured: it does not exist."""

    code = "not_found"
    default_message = "Not found."


class CardDeclined(DomainError):
    """The sandbox's test card was declined (as Stripe test mode declines 4000 0000 0000 0002)."""

    status_code = 402
    code = "card_declined"
    default_message = "The card was declined."


class NothingToPay(Conflict):
    code = "nothing_to_pay"
    default_message = "There is nothing waiting for payment here."
