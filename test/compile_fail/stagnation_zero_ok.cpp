// The twin of stagnation_zero.cpp, corrected.
#include <leash/learn/session_loop.hpp>

int main() { return leash::learn::Stagnation<1>::k == 1 ? 0 : 1; }
