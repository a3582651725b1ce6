"""Billing writes and rules, one module per concern:

customers   the patient's Stripe customer (created once)
subscribe   web Checkout, mobile PaymentSheet, customer portal, cancellation
mirror      applying Stripe snapshots to the local mirror (never an older over a newer)
webhooks    storing and applying Stripe events
dunning     payment-failure notices
standing    the good-standing answer other apps ask (contract)
reconcile   the nightly comparison with Stripe
"""
