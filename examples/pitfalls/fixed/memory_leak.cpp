// Fixed: every block is freed before its last pointer is overwritten.
#include <cstdlib>

int main()
{
    void *p = std::malloc(100);
    std::free(p);
    p = std::malloc(40);
    std::free(p);
    return 0;
}
