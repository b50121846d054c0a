// Fixed: the pointer is cleared after free (free(NULL) does nothing).
#include <cstdlib>

int main()
{
    char *p = static_cast<char *>(std::malloc(32));
    std::free(p);
    p = nullptr;
    std::free(p);
    return 0;
}
