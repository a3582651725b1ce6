"""Domain errors of e-prescribing, with the stable codes the apps switch on."""

from api.errors import Conflict, DomainError, ServiceUnavailable


class EpcsNotEnabled(Conflict):
    """The prescriber has no vendor identity, or has not finished identity proofing or two-factor
    enrolment (21 CFR 1311.105-1311.110): nothing is sent to the vendor."""

    code = "epcs_not_enabled"
    default_message = "Your account is not enabled for electronic prescribing of controlled substances yet."


class NotAwaitingEpcsSignature(Conflict):
    code = "not_awaiting_epcs_signature"
    default_message = "This prescription is not waiting for an EPCS signature."


class ErxProposalPending(Conflict):
    code = "erx_proposal_pending"
    default_message = "The prescription is still being sent to the e-prescribing service; try again in a moment."


class InvalidEpcsCode(DomainError):
    code = "invalid_epcs_code"
    default_message = "The one-time code is not valid."


class ErxUnavailable(ServiceUnavailable):
    code = "erx_unavailable"
    default_message = "The e-prescribing service is unavailable; try again shortly."
