from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField()


class Product(models.Model):
    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    sku = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    reference = models.CharField(max_length=32, unique=True, null=True)

    class Meta:
        unique_together = [("customer", "reference")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "sku"], name="shop_order_customer_sku_uniq"),
        ]
