from django.urls import path

from accounts import apis

urlpatterns = [
    path("register/", apis.RegisterApi.as_view(), name="auth-register"),
    path("token/", apis.LoginApi.as_view(), name="auth-login"),
    path("token/refresh/", apis.RefreshApi.as_view(), name="auth-refresh"),
    path("logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("password-reset/", apis.PasswordResetApi.as_view(), name="auth-password-reset"),
    path("password-reset/confirm/", apis.PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"),
    path("me/", apis.MeApi.as_view(), name="auth-me"),
    path("password/", apis.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("account-deletion/", apis.AccountDeletionApi.as_view(), name="auth-account-deletion"),
]
