#include "server/version.hpp"

#include <iostream>

int main() {
  std::cout << "fieldsync " << fieldsync::server::version() << "\n";
  return 0;
}
