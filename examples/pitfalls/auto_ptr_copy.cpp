// Pitfall: copying a std::auto_ptr moves the object; the source is left null.
// (auto_ptr was deprecated in C++11 and removed in C++17; libstdc++ keeps it.)
#include <cstdio>
#include <memory>

int main()
{
    std::auto_ptr<int> a(new int(7));
    std::auto_ptr<int> b = a;  // looks like a copy, is a move: a is now null
    std::printf("%d\n", *a);  // dereferences nullptr
    return 0;
}
