// fieldsync: the command line. Exit codes: 0 done, 1 could not start or failed while
// running, 2 bad command line or configuration.

#include "server/app/app.hpp"
#include "server/app/config_file.hpp"
#include "server/app/dev_command.hpp"
#include "server/core/logging.hpp"
#include "server/app/serve_command.hpp"
#include "server/app/token_command.hpp"
#include "server/core/version.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

int run(int argc, char** argv) {
  namespace fs = fieldsync::server;

  CLI::App cli{"fieldsync: real-time sync server for offline-first apps on PostgreSQL"};
  cli.set_version_flag("--version", "fieldsync " + std::string(fs::version()));
  cli.require_subcommand(1);

  std::string config_file;
  auto* serve = cli.add_subcommand("serve", "Run the server with a configuration file");
  serve->add_option("--config,-c", config_file, "TOML configuration file")
      ->required()
      ->check(CLI::ExistingFile);

  fs::dev_options dev_opts;
  auto* dev = cli.add_subcommand(
      "dev", "Run the embedded default: a private PostgreSQL with demo data, and the server");
  dev->add_option("--data-dir", dev_opts.data_dir,
                  "Where the private PostgreSQL cluster lives (default ./.fieldsync)");
  dev->add_option("--config,-c", config_file, "Optional TOML configuration file")
      ->check(CLI::ExistingFile);

  fs::token_options token_opts;
  auto* token = cli.add_subcommand("token",
                                   "Print a bearer token (JWT) for the given claims, signed with "
                                   "the dev key or an HS256 key of the config");
  token
      ->add_option(
          "claims", token_opts.claims,
          "The claims, a JSON object, e.g. '{\"sub\":\"rep-7\",\"rep_id\":7,\"territories\":[1]}'")
      ->required();
  token->add_option("--data-dir", token_opts.data_dir,
                    "The data directory of `fieldsync dev` whose key signs (default ./.fieldsync)");
  token
      ->add_option("--config,-c", config_file,
                   "TOML configuration whose [auth.keys] HS256 key signs")
      ->check(CLI::ExistingFile);
  token->add_option("--kid", token_opts.kid, "Which HS256 key of the configuration signs");
  token->add_option("--ttl", token_opts.ttl_seconds, "Lifetime in seconds (default 86400)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help, --version
    std::cerr << "fieldsync: " << e.what() << " (see fieldsync --help)\n";
    return exit_usage;
  }

  std::optional<std::filesystem::path> file;
  if (!config_file.empty()) file = config_file;
  try {
    bool is_dev = dev->parsed();
    if (token->parsed()) {
      // Keys come from the file, else the dev data directory's; nothing else is needed.
      return fs::token_command(
          fs::load_config(file, fs::process_environment(), fs::config{}, false), token_opts);
    }
    auto cfg = fs::load_config(file, fs::process_environment(),
                               is_dev ? fs::dev_defaults() : fs::config{}, !is_dev);
    fs::init_logging(cfg.log.format, cfg.log.level);
    return is_dev ? fs::dev_command(cfg, dev_opts) : fs::serve_command(cfg);
  } catch (const fs::config_error& e) {
    std::cerr << "fieldsync: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "fieldsync: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // What run() lets escape (an allocation failing while the command line is set up) ends
  // the process with one line and exit code 1, never std::terminate.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fputs("fieldsync: ", stderr);
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
  } catch (...) {
    std::fputs("fieldsync: unknown error\n", stderr);
  }
  return exit_failure;
}
