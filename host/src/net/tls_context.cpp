#include "net/tls_context.hpp"

#include "base/log.hpp"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>

namespace microsockets {
namespace {

std::string read_file(const std::filesystem::path& path, std::string_view what) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  auto fail = [&] {
    return std::runtime_error(fmt::format("cannot read {} '{}': {}", what, path.string(), std::strerror(errno)));
  };
  if (!file) throw fail();
  std::string text;
  char chunk[4096];
  while (std::size_t n = std::fread(chunk, 1, sizeof chunk, file.get())) text.append(chunk, n);
  if (std::ferror(file.get())) throw fail();
  return text;
}

using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;
bio_ptr memory_bio(const std::string& text) { return {BIO_new_mem_buf(text.data(), int(text.size())), &BIO_free}; }

// Never asks for a passphrase (OpenSSL's default would prompt on the terminal).
int no_passphrase(char*, int, int, void*) { return 0; }

std::string bio_text(const std::function<void(BIO*)>& print) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  print(bio.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, std::size_t(size));
}

}  // namespace

tls_context::tls_context(std::filesystem::path cert, std::filesystem::path key)
    : cert_(std::move(cert)), key_(std::move(key)), current_(load()) {}

std::shared_ptr<net::ssl::context> tls_context::load() const {
  // Both files are read and parsed first, so that an error names the file and what is wrong with it.
  const std::string cert_pem = read_file(cert_, "TLS certificate");
  const std::string key_pem = read_file(key_, "TLS key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(memory_bio(cert_pem).get(), nullptr, no_passphrase, nullptr), &X509_free);
  if (!cert) throw std::runtime_error(fmt::format("TLS certificate '{}' holds no PEM certificate", cert_.string()));
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(memory_bio(key_pem).get(), nullptr, no_passphrase, nullptr), &EVP_PKEY_free);
  if (!key)
    throw std::runtime_error(fmt::format("TLS key '{}' holds no PEM private key without a passphrase", key_.string()));
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    throw std::runtime_error(fmt::format("TLS key '{}' does not match certificate '{}'", key_.string(), cert_.string()));
  ERR_clear_error();

  // TLS 1.2 and 1.3 only, with OpenSSL's default ciphers (Mozilla's "intermediate").
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                   net::ssl::context::single_dh_use);
  error_code ec;
  ctx->use_certificate_chain(net::buffer(cert_pem), ec);  // the certificate and any intermediates after it
  if (ec || SSL_CTX_use_PrivateKey(ctx->native_handle(), key.get()) != 1)
    throw std::runtime_error(fmt::format("TLS certificate '{}' and key '{}' were refused: {}", cert_.string(),
                                         key_.string(), ec ? ec.message() : "by OpenSSL"));
  return ctx;
}

void tls_context::reload() {
  try {
    current_.store(load());
    log::info("TLS certificate reloaded: {}", describe());
  } catch (const std::exception& e) {
    log::error("TLS certificate not reloaded, the previous one stays: {}", e.what());
  }
}

std::string tls_context::describe() const {
  X509* cert = SSL_CTX_get0_certificate(current()->native_handle());
  if (!cert) return "none";
  const auto subject = bio_text([&](BIO* b) { X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253); });
  const auto until = bio_text([&](BIO* b) { ASN1_TIME_print(b, X509_get0_notAfter(cert)); });
  return fmt::format("{}, valid until {}", subject, until);
}

}  // namespace microsockets
