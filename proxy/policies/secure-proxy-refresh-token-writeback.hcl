# Policy "secure-proxy-refresh-token-writeback": for services with grant: refresh_token, attached to the proxy next to "secure-proxy".
# The proxy writes a rotated refresh token back to the service's own secret (check-and-set): one path block per such service.
path "secret/data/secure-proxy/services/mail" {
  capabilities = ["read", "create", "update"]
}
