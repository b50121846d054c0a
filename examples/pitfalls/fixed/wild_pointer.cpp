// Fixed: a pointer gets a value (an object's address, or nullptr) where it is declared.
#include <cstdio>

int main()
{
    int value = 0;
    int *p = &value;
    *p = 42;
    std::printf("%d\n", *p);
    return 0;
}
