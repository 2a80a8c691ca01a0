// sandbox-broker: subcommands and wiring. The only file that knows every part.
#include <cstdio>

int main() {
    std::puts("sandbox-broker: under construction");
    return 0;
}
