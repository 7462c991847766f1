/**
 * The encrypted columns, named as SecretBox's additional data: a ciphertext only decrypts in the column
 * it was written for. Renaming one of these strings makes every stored value unreadable.
 */
export const SECRET_COLUMNS = {
  signingKey: 'signing_keys.private_jwk',
  totpSecret: 'users.totp_secret',
  cookieKeys: 'settings.token_service.cookie_keys',
  pushAuthorization: 'ssf_streams.authorization_header',
  /**
   * The TOTP secret of an enrollment in progress (oidc_models, model OpenCaeSignIn). Not re-encrypted
   * at start like the others: it lives ten minutes, and one sealed with a retired key restarts the sign-in.
   */
  pendingTotpSecret: 'oidc_models.OpenCaeSignIn.pendingSecret',
} as const;
