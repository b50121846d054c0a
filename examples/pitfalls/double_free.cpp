// Pitfall: freeing the same block twice.
#include <cstdlib>

int main()
{
    char *p = static_cast<char *>(std::malloc(32));
    std::free(p);
    std::free(p);
    return 0;
}
