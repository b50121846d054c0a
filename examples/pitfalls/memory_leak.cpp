// Pitfall: memory nobody frees: the only pointer to it is overwritten.
#include <cstdlib>

int main()
{
    void *p = std::malloc(100);
    p = std::malloc(40);  // the 100-byte block is lost
    std::free(p);
    return 0;
}
