// Pitfall: an array made with new[] given back with delete (not delete[]).
int main()
{
    int *a = new int[8];
    delete a;  // must be delete[] a
    return 0;
}
