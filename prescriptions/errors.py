"""Domain errors of prescribing and delivery, with the stable codes the apps switch on."""

from api.errors import Conflict, DomainError, Forbidden, Refused


class InvalidPrescription(DomainError):
    """A draft that breaks a limit; `code` says which (invalid_quantity, too_many_refills, ...)."""

    code = "invalid_prescription"
    default_message = "The prescription is invalid."


class UnknownProduct(DomainError):
    code = "unknown_product"
    default_message = "No such medication product in the catalogue."


class ProductRetired(DomainError):
    code = "product_retired"
    default_message = "This product is retired and cannot be prescribed."


class UnknownPharmacy(DomainError):
    code = "unknown_pharmacy"
    default_message = "No such pharmacy."


class PharmacyNotLicensed(DomainError):
    code = "pharmacy_not_licensed_for_state"
    default_message = "This pharmacy may not ship to the patient's state."


class ActivePrescriptionExists(Conflict):
    code = "active_prescription_exists"
    default_message = (
        "The patient already has an active prescription for this product: name it in `supersedes` to replace it."
    )


class PrescriptionSigned(Conflict):
    code = "prescription_signed"
    default_message = "A signed prescription cannot change; write a new one that supersedes it."


class PrescriptionNotSigned(Conflict):
    code = "prescription_not_signed"
    default_message = "The prescription is not signed."


class StepUpFailed(Forbidden):
    code = "step_up_failed"
    default_message = "Re-enter your password to sign."


class SigningRefused(Refused):
    code = "signing_refused"
    default_message = "The prescription cannot be signed yet."


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "The order cannot move to that status from its current one."


class TrackingRequired(DomainError):
    code = "tracking_required"
    default_message = "A carrier and tracking number are needed to mark an order shipped."


class AddressNotVerified(Refused):
    code = "address_not_verified"
    default_message = "The patient's address is not verified inside the service area."


class SubscriptionPastDue(Refused):
    code = "subscription_past_due"
    default_message = "Shipments are paused until the membership is paid."


class FillRefused(Refused):
    """A fill (staged shipment or any path other than signing and refill approval) failed the
    shared gate; `reasons` names every failing gate with the signing codes."""

    code = "fill_refused"
    default_message = "This fill cannot be shipped."


class RefillAlreadyRequested(Conflict):
    code = "refill_already_requested"
    default_message = "A refill is already requested for this prescription."


class RefillNotOpen(Conflict):
    code = "refill_not_open"
    default_message = "This refill request was already decided."


class RefillRefused(Refused):
    code = "refill_refused"
    default_message = "The refill cannot be approved."


class InvalidSignature(DomainError):
    code = "invalid_signature"
    default_message = "The webhook signature is invalid."
