// fieldsync: the command line. Exit codes: 0 done, 1 could not start or failed while
// running, 2 bad command line or configuration.

#include "server/app.hpp"
#include "server/config.hpp"
#include "server/dev_command.hpp"
#include "server/logging.hpp"
#include "server/serve_command.hpp"
#include "server/version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

}  // namespace

int main(int argc, char** argv) {
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
